// The Digital Credentials Consortium's verifier (what the Learner Credential Wallet runs), offline.
//
//   node tests/vc/verify.mjs SITE_DIR BASE_URL CREDENTIAL.json...
//
// verifier-core builds its own document loader, which fetches over HTTPS: the site's
// did:web document, status lists and any context it does not bundle. Every fetch goes through
// globalThis.fetch, so it is replaced here, before the verifier is loaded: the site's URLs are
// answered from SITE_DIR (the did:web host is the base URL's, so the DID maps there too),
// sitegen's bundled contexts from sitegen/vc/contexts, and every other URL fails as offline.
// Prints one JSON object: {"results": [the verifier's answer per credential], "refused": [URLs],
// "served": [URLs]}.

import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

const [siteDir, baseUrl, ...credentialFiles] = process.argv.slice(2);
const here = path.dirname(fileURLToPath(import.meta.url));
const contextsDir = path.join(here, '..', '..', 'sitegen', 'vc', 'contexts');
const bundledContexts = JSON.parse(fs.readFileSync(path.join(contextsDir, 'sources.json'), 'utf8'));
const site = withoutScheme(baseUrl).replace(/\/?$/, '/');
const refused = [];
const served = [];

function withoutScheme(url) {
  const {host, pathname} = new URL(url);
  return host + pathname;
}

function localFile(url) {
  if(url in bundledContexts) {
    return path.join(contextsDir, bundledContexts[url].file);
  }
  const address = withoutScheme(url);
  if(!address.startsWith(site)) {
    return null;
  }
  const file = path.resolve(siteDir, decodeURIComponent(address.slice(site.length)));
  return file.startsWith(path.resolve(siteDir) + path.sep) ? file : null;
}

globalThis.fetch = async function offlineFetch(input) {
  const url = typeof input === 'string' ? input : (input.url ?? String(input));
  const file = localFile(url);
  if(file === null) {
    refused.push(url);
    throw new TypeError(`fetch failed: ${url} is not on the local site (offline test)`);
  }
  served.push(url);
  if(!fs.existsSync(file)) {
    return new Response('Not Found', {status: 404, statusText: 'Not Found'});
  }
  return new Response(fs.readFileSync(file), {
    status: 200, headers: {'content-type': 'application/json'}
  });
};

// The verifier logs to stdout; the answer alone goes there.
console.log = (...args) => console.error(...args);
// Loaded only now, so that its HTTP client finds the fetch above.
const {verifyCredential} = await import('@digitalcredentials/verifier-core');

function plain(value) {
  // Errors and their causes, as JSON can carry them.
  return JSON.parse(JSON.stringify(value, (key, item) => item instanceof Error ?
    {name: item.name, message: item.message, ...(item.cause ? {cause: plain(item.cause)} : {})} : item));
}

const results = [];
for(const file of credentialFiles) {
  const credential = JSON.parse(fs.readFileSync(file, 'utf8'));
  const result = await verifyCredential({credential, knownDIDRegistries: []});
  delete result.credential;
  results.push(plain(result));
}
process.stdout.write(JSON.stringify({results, refused, served}) + '\n');
