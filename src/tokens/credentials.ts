// The application's credential at the provider: a secret (and how it is sent), a certificate, or a workload identity assertion.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Configuration } from '@azure/msal-node';
import type { IdentityConfig } from '../config/schema.js';
import type { Discovery } from './discovery.js';

export type Credentials = Pick<
  Configuration['auth'],
  'clientSecret' | 'clientCertificate' | 'clientAssertion'
>;

/**
 * identity.clientAuthMethod, or `auto`: client_secret_post (MSAL's way) when discovery lists it,
 * else client_secret_basic (the default of OpenID Discovery and RFC 8414 when the list is absent).
 */
export function secretMethod(
  id: IdentityConfig,
  doc: Discovery,
): 'client_secret_post' | 'client_secret_basic' {
  if (id.clientAuthMethod !== 'auto') return id.clientAuthMethod;
  const listed = doc.token_endpoint_auth_methods_supported;
  return Array.isArray(listed) && listed.includes('client_secret_post')
    ? 'client_secret_post'
    : 'client_secret_basic';
}

/** The configured credential, read once at start (files are read here, so a bad one fails at start). */
export function loadCredentials(id: IdentityConfig): Credentials {
  if (id.clientSecret) return { clientSecret: id.clientSecret };
  if (id.clientCertificate) {
    const c = id.clientCertificate;
    const certPem = readFileSync(c.certificateFile, 'utf8');
    const cert = new X509Certificate(certPem);
    const privateKey = createPrivateKey({
      key: readFileSync(c.privateKeyFile, 'utf8'),
      passphrase: c.passphrase,
    })
      .export({ format: 'pem', type: 'pkcs8' })
      .toString();
    return {
      clientCertificate: {
        thumbprintSha256: cert.fingerprint256.replace(/:/g, ''),
        privateKey,
        x5c: certPem,
      },
    };
  }
  // Workload identity: the projected token file rotates, so it is read on every use.
  const file = id.clientAssertionFile as string;
  return { clientAssertion: async () => (await readFile(file, 'utf8')).trim() };
}
