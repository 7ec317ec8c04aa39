// Cross-field rules for identity: one client credential, and what each protocol requires.
import type { Config } from '../schema.js';

export function identityRules(c: Config): string[] {
  const problems: string[] = [];
  const id = c.identity;
  const credentials = [
    id.clientSecret !== undefined && 'clientSecret',
    id.clientCertificate !== undefined && 'clientCertificate',
    id.clientAssertionFile !== undefined && 'clientAssertionFile',
  ].filter(Boolean);
  if (credentials.length !== 1) {
    problems.push(
      `identity: exactly one client credential must be given (clientSecret, clientCertificate or clientAssertionFile), got ${credentials.length === 0 ? 'none' : credentials.join(' and ')}`,
    );
  }
  if (id.protocol === 'oidc' && !id.authority)
    problems.push('identity.authority: is required when protocol is oidc');
  if (id.protocol === 'aad' && !id.authority && !id.tenantId) {
    problems.push(
      'identity.tenantId: is required when protocol is aad (common, organizations or a tenant GUID)',
    );
  }
  return problems;
}
