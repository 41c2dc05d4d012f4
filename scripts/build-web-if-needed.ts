// Builds the web board before `npm start` when it has never been built or its sources changed
// since. A missing build is not fatal: the server then serves the API alone.
import { buildWeb, canBuildWeb, WEB_DIST, webBuildIsStale } from './web-build.js';

if (webBuildIsStale()) {
  if (!canBuildWeb()) {
    console.error(
      `the web board (${WEB_DIST}) is missing or older than its sources, and Vite (a devDependency) is not installed to build it: run \`npm run build:web\` where it is, when the image is built; starting with what is built, or the API alone`,
    );
  } else {
    try {
      console.log('building the web board…');
      await buildWeb();
    } catch (error) {
      console.error(`the web board did not build; starting with the API only\n${(error as Error).message}`);
    }
  }
}
