// Builds the web board before `npm start` when it has never been built or its sources changed
// since. A missing build is not fatal: the server then serves the API alone.
import { buildWeb, webBuildIsStale } from './web-build.js';

if (webBuildIsStale()) {
  try {
    console.log('building the web board…');
    await buildWeb();
  } catch (error) {
    console.error(`the web board did not build; starting with the API only\n${(error as Error).message}`);
  }
}
