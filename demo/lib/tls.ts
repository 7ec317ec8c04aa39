// The demo's certificates: a throwaway CA and one server certificate for the provider's https back channel.
//
// Made with the `openssl` CLI at every start, in a private directory (mode 0700) that goes away with
// the demo. Only the CA certificate is published (for authward's identity.caFile and the sample API);
// the browser never sees this certificate, so nobody has to trust the CA.
import { execFile } from 'node:child_process';
import { generateKeyPair, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const keyPair = promisify(generateKeyPair);

export interface ServerTls {
  caPem: string;
  certPem: string;
  keyPem: string;
}

async function openssl(args: string[]): Promise<void> {
  try {
    await run(process.env.OPENSSL || 'openssl', args);
  } catch (err) {
    const e = err as { code?: string; stderr?: string };
    if (e.code === 'ENOENT')
      throw new Error('openssl is not installed (Debian/Ubuntu: apt-get install openssl)');
    throw new Error(`openssl ${args[0]} failed: ${(e.stderr ?? String(err)).trim()}`);
  }
}

async function writeKey(file: string): Promise<string> {
  const { privateKey } = await keyPair('ec', { namedCurve: 'P-256' });
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  writeFileSync(file, pem, { mode: 0o600 });
  return pem;
}

/** A CA and a server certificate for `hosts` (IP literals become IP SANs), valid for `days`. */
export async function createServerTls(dir: string, hosts: string[], days = 7): Promise<ServerTls> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const f = (name: string) => join(dir, name);
  await writeKey(f('ca-key.pem'));
  await openssl([
    'req',
    '-x509',
    '-new',
    '-key',
    f('ca-key.pem'),
    '-sha256',
    '-days',
    String(days),
    '-subj',
    `/CN=authward demo CA ${randomBytes(4).toString('hex')}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
    '-out',
    f('ca.pem'),
  ]);
  const keyPem = await writeKey(f('server-key.pem'));
  await openssl([
    'req',
    '-new',
    '-key',
    f('server-key.pem'),
    '-subj',
    `/CN=${hosts[0]}`,
    '-out',
    f('server.csr'),
  ]);
  // `x509 -req` ignores a CSR's extensions: they come from a file.
  const san = hosts.map((h) => (isIP(h) ? `IP:${h}` : `DNS:${h}`)).join(',');
  writeFileSync(
    f('server.ext'),
    `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=${san}\n`,
  );
  await openssl([
    'x509',
    '-req',
    '-sha256',
    '-in',
    f('server.csr'),
    '-CA',
    f('ca.pem'),
    '-CAkey',
    f('ca-key.pem'),
    '-set_serial',
    `0x${randomBytes(12).toString('hex')}`,
    '-days',
    String(days),
    '-extfile',
    f('server.ext'),
    '-out',
    f('server.pem'),
  ]);
  return { caPem: readFileSync(f('ca.pem'), 'utf8'), certPem: readFileSync(f('server.pem'), 'utf8'), keyPem };
}
