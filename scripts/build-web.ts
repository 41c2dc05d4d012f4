// `npm run build:web`: builds the web board and swaps it in whole (`buildWeb`), so a server
// running meanwhile serves the old build until the new one is complete, never half of either.
import { buildWeb } from './web-build.js';

await buildWeb();
