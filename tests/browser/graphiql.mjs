// Drives Debian's Chromium against a running Atrium:
//  1. GraphiQL at /graphql renders from the embedded assets alone (no request
//     leaves the origin, no CSP violation), runs a query with the bearer token
//     typed into its header editor, and runs a subscription that receives an
//     event;
//  2. a page on an allowed origin calls the API (a preflighted POST with a
//     token) and opens the WebSocket; the same page on an origin not allowed
//     is refused both.
// Input (environment): ATRIUM_URL, ATRIUM_TOKEN, ATRIUM_WORKSPACE, PAGE_PORT
// (the allowed origin is http://127.0.0.1:PAGE_PORT; http://localhost:PAGE_PORT
// is not allowed). Prints one JSON object with what it saw; exits 1 on error.
import http from 'node:http';
import { chromium } from 'playwright-core';

const base = process.env.ATRIUM_URL;
const token = process.env.ATRIUM_TOKEN;
const workspace = process.env.ATRIUM_WORKSPACE;
const pagePort = Number(process.env.PAGE_PORT);
const seen = {};

async function api(query, variables) {
  const response = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return response.json();
}

// The cross-origin page: calls the API and opens the socket, reports in the title.
const crossOriginPage = `<!doctype html><html><body><script>
(async () => {
  const report = {};
  try {
    const response = await fetch(${JSON.stringify(base)} + '/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer ${token}' },
      body: JSON.stringify({ query: '{ me { email } }' }),
    });
    report.fetch = (await response.json()).data.me.email;
  } catch (e) { report.fetch = 'blocked: ' + e.name; }
  report.socket = await new Promise((resolve) => {
    const socket = new WebSocket(${JSON.stringify(base.replace(/^http/, 'ws'))} + '/graphql/ws', 'graphql-transport-ws');
    socket.onopen = () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: 'Bearer ${token}' } }));
    socket.onmessage = (event) => { resolve(JSON.parse(event.data).type); socket.close(); };
    socket.onerror = () => resolve('refused');
  });
  document.title = 'done:' + JSON.stringify(report);
})();
</script></body></html>`;

const pageServer = http.createServer((_, res) => {
  res.writeHead(200, { 'content-type': 'text/html' });
  res.end(crossOriginPage);
});
await new Promise((resolve) => pageServer.listen(pagePort, '127.0.0.1', resolve));

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: [
    '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
  ],
});

const foreign = [];
const problems = [];
let page;
try {
  page = await browser.newPage();
  const origin = new URL(base).origin;
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (url.origin !== origin && url.protocol.startsWith('http')) foreign.push(request.url());
  });
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(String(error)));

  const response = await page.goto(`${base}/graphql`);
  seen.pageStatus = response.status();
  seen.csp = response.headers()['content-security-policy'] || null;
  await page.waitForSelector('.graphiql-query-editor .CodeMirror', { timeout: 20000 });

  // The header editor is preset for a bearer token: fill it in.
  const setEditor = (selector, text) =>
    page.evaluate(([selector, text]) => {
      const editors = [...document.querySelectorAll('.CodeMirror')].map((e) => e.CodeMirror);
      const editor = selector === 'headers'
        ? editors.find((e) => e.getValue().includes('Authorization'))
        : document.querySelector(selector).CodeMirror;
      editor.setValue(text);
      return true;
    }, [selector, text]);
  seen.presetHeaders = await page.evaluate(() =>
    [...document.querySelectorAll('.CodeMirror')].map((e) => e.CodeMirror.getValue()).find((v) => v.includes('Authorization')) || null);
  await setEditor('headers', JSON.stringify({ Authorization: `Bearer ${token}` }));
  const responseText = () =>
    page.evaluate(() => document.querySelector('.graphiql-response .CodeMirror').CodeMirror.getValue());

  await setEditor('.graphiql-query-editor .CodeMirror', '{ me { email } }');
  await page.click('.graphiql-execute-button');
  await page.waitForFunction(
    () => document.querySelector('.graphiql-response .CodeMirror').CodeMirror.getValue().includes('email'),
    null, { timeout: 15000 });
  seen.query = JSON.parse(await responseText());

  await setEditor(
    '.graphiql-query-editor .CodeMirror',
    `subscription { activity(workspaceId: "${workspace}") { action } }`);
  await page.click('.graphiql-execute-button');
  // The subscription is live once the socket is open; then cause an event.
  await page.waitForTimeout(1000);
  const created = await api(
    'mutation($ws: ID!) { createWorkroom(input: { workspaceId: $ws, name: "From the browser test" }) { id } }',
    { ws: workspace });
  seen.created = Boolean(created.data && created.data.createWorkroom);
  await page.waitForFunction(
    () => document.querySelector('.graphiql-response .CodeMirror').CodeMirror.getValue().includes('action'),
    null, { timeout: 15000 });
  seen.subscription = JSON.parse(await responseText());

  for (const [name, host] of [['allowed', '127.0.0.1'], ['refused', 'localhost']]) {
    const other = await browser.newPage();
    await other.goto(`http://${host}:${pagePort}/`);
    await other.waitForFunction(() => document.title.startsWith('done:'), null, { timeout: 15000 });
    seen[name] = JSON.parse((await other.title()).slice('done:'.length));
    await other.close();
  }
} catch (error) {
  seen.error = String(error && error.stack || error);
  seen.lastResponse = await page?.evaluate(() =>
    document.querySelector('.graphiql-response .CodeMirror')?.CodeMirror.getValue()).catch(() => null);
} finally {
  seen.foreignRequests = foreign;
  seen.problems = problems;
  await browser.close();
  pageServer.close();
}
console.log(JSON.stringify(seen));
process.exit(seen.error ? 1 : 0);
