// Test-time X.509 material: a throwaway CA, server certificates it signs, and self-signed client certificates.
//
// Keys come from node:crypto (async, on the thread pool, so several generate in parallel), the
// certificates from the `openssl` CLI, all in a private temp dir (mkdtemp, mode 0700) so no key ever
// lands in the repository. Nothing is trusted globally: consumers pass `caPem` to their own TLS
// agent (never NODE_EXTRA_CA_CERTS, never NODE_TLS_REJECT_UNAUTHORIZED).
// CA and server keys are EC P-256 (about 1 ms each; an RSA 2048 key costs 200-400 ms here).
import { execFile } from 'node:child_process';
import { createHash, generateKeyPair, randomBytes, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

export interface CertificateAuthority {
  /** Temp dir holding every file below; removed by `cleanup()`. */
  dir: string;
  caPem: string;
  caFile: string;
  caKeyFile: string;
}

export interface IssuedCertificate {
  certPem: string;
  keyPem: string;
  certFile: string;
  keyFile: string;
}

export interface TestTls extends CertificateAuthority, IssuedCertificate {
  /** Issue another certificate from the same CA (another https test server, a client certificate). */
  issue(opts: IssueOptions): Promise<IssuedCertificate>;
  /** Remove the temp dir (idempotent). */
  cleanup(): void;
}

export interface IssueOptions {
  /** File name stem inside the CA dir. */
  name: string;
  /** SAN entries: IP literals become IP:, anything else DNS:. Default 127.0.0.1 and localhost. */
  hosts?: string[];
  /** extendedKeyUsage; default serverAuth. */
  usage?: 'server' | 'client';
  /** Default 'ec' (P-256). */
  keyType?: KeyType;
  days?: number;
}

export interface SelfSignedCertificate extends IssuedCertificate {
  /** Hex SHA-1 of the DER certificate (what MSAL's clientCertificate.thumbprint wants). */
  thumbprintSha1: string;
  /** Hex SHA-256 of the DER certificate (MSAL's clientCertificate.thumbprintSha256). */
  thumbprintSha256: string;
}

const OPENSSL = process.env.OPENSSL || 'openssl';
const execFileAsync = promisify(execFile);
const generateKeyPairAsync = promisify(generateKeyPair);

export type KeyType = 'ec' | 'rsa';

async function openssl(args: string[]): Promise<void> {
  try {
    await execFileAsync(OPENSSL, args);
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new Error(`openssl ${args[0]} failed: ${stderr.trim() || String(err)}`);
  }
}

/** Write a fresh PKCS#8 private key (mode 0600) and return its PEM. */
async function writeKey(file: string, type: KeyType): Promise<string> {
  const { privateKey } =
    type === 'rsa'
      ? await generateKeyPairAsync('rsa', { modulusLength: 2048 })
      : await generateKeyPairAsync('ec', { namedCurve: 'P-256' });
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  writeFileSync(file, pem, { mode: 0o600 });
  return pem;
}

function sanList(hosts: string[]): string {
  return hosts.map((h) => (isIP(h) ? `IP:${h}` : `DNS:${h}`)).join(',');
}

/** Create a CA (with its own temp dir unless `dir` is given). */
export async function createCertificateAuthority(
  opts: { dir?: string; days?: number } = {},
): Promise<CertificateAuthority> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'authward-tls-'));
  const caFile = join(dir, 'ca.pem');
  const caKeyFile = join(dir, 'ca-key.pem');
  await writeKey(caKeyFile, 'ec');
  await openssl([
    'req',
    '-x509',
    '-new',
    '-key',
    caKeyFile,
    '-sha256',
    '-days',
    String(opts.days ?? 2),
    '-subj',
    `/CN=authward test CA ${randomBytes(4).toString('hex')}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
    '-out',
    caFile,
  ]);
  return { dir, caFile, caKeyFile, caPem: readFileSync(caFile, 'utf8') };
}

/** Issue a leaf certificate signed by `ca`. */
export async function issueCertificate(
  ca: CertificateAuthority,
  opts: IssueOptions,
): Promise<IssuedCertificate> {
  const hosts = opts.hosts ?? ['127.0.0.1', 'localhost'];
  const keyFile = join(ca.dir, `${opts.name}-key.pem`);
  const csrFile = join(ca.dir, `${opts.name}.csr`);
  const certFile = join(ca.dir, `${opts.name}.pem`);
  const extFile = join(ca.dir, `${opts.name}.ext`);
  const keyPem = await writeKey(keyFile, opts.keyType ?? 'ec');
  await openssl(['req', '-new', '-key', keyFile, '-subj', `/CN=${hosts[0] ?? opts.name}`, '-out', csrFile]);
  // Extensions must come from a file: `x509 -req` ignores the CSR's extensions.
  writeFileSync(
    extFile,
    [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      `extendedKeyUsage=${opts.usage === 'client' ? 'clientAuth' : 'serverAuth'}`,
      hosts.length ? `subjectAltName=${sanList(hosts)}` : '',
      '',
    ].join('\n'),
  );
  await openssl([
    'x509',
    '-req',
    '-sha256',
    '-in',
    csrFile,
    '-CA',
    ca.caFile,
    '-CAkey',
    ca.caKeyFile,
    // Random serial instead of -CAcreateserial: no .srl state shared between issuances.
    '-set_serial',
    `0x${randomBytes(12).toString('hex')}`,
    '-days',
    String(opts.days ?? 2),
    '-extfile',
    extFile,
    '-out',
    certFile,
  ]);
  return { certFile, keyFile, certPem: readFileSync(certFile, 'utf8'), keyPem };
}

/** CA + a server certificate for 127.0.0.1 and localhost, in one temp dir. */
export async function createTestTls(
  opts: { dir?: string; hosts?: string[]; days?: number } = {},
): Promise<TestTls> {
  const ca = await createCertificateAuthority(opts);
  const server = await issueCertificate(ca, { name: 'server', hosts: opts.hosts, days: opts.days });
  let cleaned = false;
  return {
    ...ca,
    ...server,
    issue: (o) => issueCertificate(ca, o),
    cleanup() {
      if (cleaned) return;
      cleaned = true;
      rmSync(ca.dir, { recursive: true, force: true });
    },
  };
}

/** Hex SHA-1 and SHA-256 thumbprints of a PEM certificate's DER encoding. */
export function certificateThumbprints(certPem: string): { sha1: string; sha256: string } {
  const der = new X509Certificate(certPem).raw;
  return {
    sha1: createHash('sha1').update(der).digest('hex'),
    sha256: createHash('sha256').update(der).digest('hex'),
  };
}

/**
 * A self-signed certificate, as registered for an Entra app credential (Entra trusts the uploaded
 * certificate itself, not a chain).
 */
export async function createSelfSignedCertificate(opts: {
  dir: string;
  name: string;
  commonName?: string;
  /** Default 'rsa': MSAL signs its certificate assertion with RS256 / PS256. */
  keyType?: KeyType;
}): Promise<SelfSignedCertificate> {
  const keyFile = join(opts.dir, `${opts.name}-key.pem`);
  const certFile = join(opts.dir, `${opts.name}.pem`);
  const keyPem = await writeKey(keyFile, opts.keyType ?? 'rsa');
  await openssl([
    'req',
    '-x509',
    '-new',
    '-key',
    keyFile,
    '-sha256',
    '-days',
    '2',
    '-subj',
    `/CN=${opts.commonName ?? opts.name}`,
    '-out',
    certFile,
  ]);
  const certPem = readFileSync(certFile, 'utf8');
  const { sha1, sha256 } = certificateThumbprints(certPem);
  return {
    certFile,
    keyFile,
    certPem,
    keyPem,
    thumbprintSha1: sha1,
    thumbprintSha256: sha256,
  };
}
