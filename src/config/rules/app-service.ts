// Cross-field rules for App Service's token headers: an expiry needs the access token it belongs to.
import type { Config } from '../schema.js';

export function appServiceRules(c: Config): string[] {
  const problems: string[] = [];
  if (c.upstream.tokenHeaders.expiresOn && c.upstream.tokens.length === 0) {
    problems.push(
      'upstream.tokenHeaders.expiresOn: needs upstream.tokens (X-MS-TOKEN-AAD-EXPIRES-ON is the expiry of that access token), got no scopes',
    );
  }
  return problems;
}
