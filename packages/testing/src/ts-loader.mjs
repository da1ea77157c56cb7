// `node --import ./ts-loader.mjs main.ts`: registers ./ts-hooks.mjs.
import { register } from 'node:module';

register('./ts-hooks.mjs', import.meta.url);
