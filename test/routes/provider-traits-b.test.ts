// Provider traits, second half: the full suite per trait (see provider-traits.ts).
import t from 'tap';
import { runTrait, TRAITS } from './provider-traits.js';

const names = Object.keys(TRAITS);
const half = Math.ceil(names.length / 2);
for (const name of names.slice(half)) {
  t.test(name, (t) => runTrait(t, name, TRAITS[name] as (typeof TRAITS)[string]));
}
