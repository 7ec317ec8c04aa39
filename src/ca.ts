// Trusted CAs for an outbound TLS connection: the system's, plus an operator's caFile (read once, at start).
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';

/**
 * The CA list for a connection that must also trust `caFile` (a private CA), or undefined to use the
 * system's own. Setting `ca` replaces Node's default list, so the system roots are listed with it.
 */
export function trustedCas(caFile: string | undefined): string[] | undefined {
  return caFile ? [...rootCertificates, readFileSync(caFile, 'utf8')] : undefined;
}
