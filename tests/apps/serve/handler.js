// A wasi:http/proxy handler for `nyash-engine serve` (tests/apps/serve.sh),
// made with componentize-js's fetch event: GET / says hello, POST /echo
// answers the request's body, GET /headers lists a request header.
addEventListener('fetch', (event) => event.respondWith(handle(event.request)));

async function handle(request) {
  const url = new URL(request.url);
  if (request.method === 'POST' && url.pathname === '/echo') {
    const body = new Uint8Array(await request.arrayBuffer());
    return new Response(body, {
      headers: { 'content-type': 'application/octet-stream', 'x-echo-length': String(body.length) },
    });
  }
  if (url.pathname === '/headers') {
    return new Response(`x-test: ${request.headers.get('x-test')}\n`);
  }
  return new Response('hello from js\n', { headers: { 'content-type': 'text/plain' } });
}
