import { peoplePage } from './people.js';

export function render(ctx) {
  return peoplePage('volunteers', ctx);
}
