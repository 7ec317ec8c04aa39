// Every cross-field rule, by section, run after the schema: each returns its problems with their paths.
import type { Config } from '../schema.js';
import { apiClientRules } from './api-clients.js';
import { appServiceRules } from './app-service.js';
import { forwardAuthRules } from './forward-auth.js';
import { identityRules } from './identity.js';
import { appTokenPublicRules, routeForwardRules, routeRules } from './routes.js';
import { publicUrlRules, sessionRules } from './session.js';
import { tokenCacheRules } from './token-cache.js';

/**
 * Rules that span fields, named so a reader can find each one. `guarded`: the schema failed, so any
 * field may be missing or of the wrong type; a group of rules that throws on one is skipped.
 */
export function crossFieldProblems(c: Config, guarded: boolean): string[] {
  const problems: string[] = [];
  for (const rules of [
    identityRules,
    sessionRules,
    publicUrlRules,
    tokenCacheRules,
    routeRules,
    appTokenPublicRules,
    routeForwardRules,
    forwardAuthRules,
    apiClientRules,
    appServiceRules,
  ]) {
    if (!guarded) {
      problems.push(...rules(c));
      continue;
    }
    try {
      problems.push(...rules(c));
    } catch {
      /* a field the schema already reported */
    }
  }
  return problems;
}
