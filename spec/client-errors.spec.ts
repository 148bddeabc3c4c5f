import { expect } from 'chai';
import { Agent, request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { Body, Get, JsonController, Post, UseBefore } from 'routing-controllers';
import { CurrentIdentity, JwtRequired, verifyJwtInRequest, type ExpressRequestLike, type JwtMiddleware, type KoaContextLike } from '../src';
import { forEachDriver, SECRET, startServer, type TestServer } from './helpers';

/**
 * A middleware of the app's own in front of one action, written as each driver
 * wants it: Koa's awaits; Express's passes a failure on with next(error).
 */
function guard(first: unknown, second: unknown, third?: (error?: unknown) => void): unknown {
  if (typeof second === 'function') {
    return (async () => { await verifyJwtInRequest(first as KoaContextLike); await (second as () => Promise<void>)(); })();
  }
  return verifyJwtInRequest(first as ExpressRequestLike).then(() => third!(), third);
}

@JsonController('/client')
class ClientRoutes {
  @Post('/echo') @JwtRequired() echo(@CurrentIdentity() id: string, @Body() body: Record<string, unknown>) { return { id, keys: Object.keys(body) }; }
  @Get('/me') @JwtRequired() me(@CurrentIdentity() id: string) { return { id }; }
  @Get('/guarded') @UseBefore(guard) guarded() { return { ok: true }; }
}

/** The README's set-up: jwt.koaErrorHandler() before routing-controllers on Koa, jwt.expressErrorHandler() after it on Express. */
describe('the error handlers for what the body parser refuses', () => forEachDriver(function (driver) {
  let server: TestServer;
  let token: string;

  before(async () => {
    server = await startServer([ClientRoutes], { secretKey: SECRET }, {}, driver,
      (jwt) => (driver === 'koa' ? [jwt.koaErrorHandler() as JwtMiddleware] : []),
      (jwt) => (driver === 'express' ? [jwt.expressErrorHandler()] : []));
    token = await server.jwt.tokens.createAccessToken('alice');
  });
  after(() => server.close());

  it('a malformed, oversized or unreadable body answers its 4xx in the library\'s shape, never quoting the body', async () => {
    const post = () => server.request.post('/client/echo').set('Authorization', `Bearer ${token}`);
    const malformed = await post().set('Content-Type', 'application/json').send('{"secret": "hunter2"').expect(400, { msg: 'Malformed JSON body' });
    expect(malformed.text).not.to.contain('hunter2');
    expect(malformed.headers['content-type']).to.match(/^application\/json/);
    await post().set('Content-Type', 'application/json').send(JSON.stringify({ pad: 'x'.repeat(2_000_000) })).expect(413, { msg: 'Payload Too Large' });
    await post().set('Content-Type', 'application/json').set('Content-Encoding', 'br2').send('{}').expect(415, { msg: 'Unsupported Media Type' });
    await post().set('Content-Type', 'application/json').set('Content-Encoding', 'gzip').send('{"not": "gzip"}').expect(400, { msg: 'Bad Request' });
    await post().set('Content-Type', 'application/json').send({ a: 1 }).expect(200, { id: 'alice', keys: ['a'] });
  });

  it('a failure an @UseBefore middleware of the app\'s own passes on answers as in a decorated action', async () => {
    const res = await server.request.get('/client/guarded').expect(401, { msg: 'Missing Authorization Header' });
    expect(res.headers['www-authenticate']).to.equal('Bearer');
    await server.request.get('/client/guarded').set('Authorization', 'Bearer a.b.c').expect(422);
    await server.request.get('/client/guarded').set('Authorization', `Bearer ${token}`).expect(200, { ok: true });
  });

  it('errors routing-controllers answered leave the keep-alive connection open', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const sockets = new Set<Socket>();
    const get = (authorization?: string) => new Promise<number>((resolve, reject) => {
      const url = new URL('/client/me', server.url);
      const req = httpRequest({ agent, host: url.hostname, port: url.port, path: url.pathname, headers: authorization ? { authorization } : {} }, (res) => {
        res.resume();
        res.once('end', () => resolve(res.statusCode ?? 0));
      });
      req.once('socket', (socket: Socket) => sockets.add(socket));
      req.once('error', reject).end();
    });
    try {
      const statuses: number[] = [];
      for (const authorization of [undefined, `Bearer ${token}`, 'Bearer a.b.c', `Bearer ${token}`, 'Bearer a b', `Bearer ${token}`]) {
        statuses.push(await get(authorization));
        await new Promise((resolve) => setImmediate(resolve));
      }
      expect(statuses).to.deep.equal([401, 200, 422, 200, 422, 200]);
      expect(sockets.size, 'connections used').to.equal(1);
    } finally {
      agent.destroy();
    }
  });
}));

/** What a raw client got for `head` (and, with `stream`, that many more bytes sent after it): the response, its socket error, and the server's count of bytes read. */
async function rawExchange(server: TestServer, head: string, stream = 0): Promise<{ response: string; error?: string; serverRead: number; sent: number }> {
  const serverRead = new Promise<number>((resolve) => server.server.once('connection', (socket: Socket) => socket.once('close', () => resolve(socket.bytesRead))));
  const { port } = new URL(server.url);
  const client = connect(Number(port), '127.0.0.1');
  let response = '';
  let error: string | undefined;
  let sent = 0;
  client.on('data', (chunk) => { response += chunk; }).on('error', (e: NodeJS.ErrnoException) => { error = e.code; });
  const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
  client.write(head);
  // A client that goes on sending header bytes after the answer, respecting backpressure, until it has sent `stream` or the server closes.
  const chunk = Buffer.alloc(65_536, 'a');
  while (sent < stream && !client.destroyed) {
    sent += chunk.length;
    if (!client.write(chunk)) await new Promise((resolve) => { client.once('drain', resolve); client.once('close', resolve); });
  }
  await closed;
  return { response, error, serverRead: await serverRead, sent };
}

/** The README's set-up: `server.on('clientError', jwt.clientErrorHandler())` (startServer does it). */
describe('the clientError handler for what node\'s HTTP parser refuses', () => forEachDriver(function (driver) {
  let server: TestServer;
  before(async () => { server = await startServer([ClientRoutes], { secretKey: SECRET, errorMessageKey: 'error' }, {}, driver); });
  after(() => server.close());

  const answer = (status: string, body: unknown) => {
    const text = JSON.stringify(body);
    return `HTTP/1.1 ${status}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${text.length}\r\nConnection: close\r\n\r\n${text}`;
  };

  it('headers beyond maxHeaderSize: 431 in the library\'s shape, the whole request read, and a clean close (no reset) on every Node line', async () => {
    // Far beyond what the server reads at once (64 KiB): node's own answer closed with that unread, and the kernel reset the connection.
    const head = `GET /client/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${'a'.repeat(300_000)}\r\n\r\n`;
    const { response, error, serverRead } = await rawExchange(server, head);
    expect({ response, error }).to.deep.equal({ response: answer('431 Request Header Fields Too Large', { error: 'Request Header Fields Too Large' }), error: undefined });
    expect(serverRead).to.equal(Buffer.byteLength(head));
  });

  it('a malformed request: 400 in the library\'s shape', async () => {
    const { response, error } = await rawExchange(server, 'GET /client/me HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n');
    expect({ response, error }).to.deep.equal({ response: answer('400 Bad Request', { error: 'Bad Request' }), error: undefined });
  });

  it('a client that goes on sending after the answer is cut off after 1 MiB more', async () => {
    const { response, serverRead, sent } = await rawExchange(server, `GET /client/me HTTP/1.1\r\nHost: x\r\nX-Pad: `, 64 << 20);
    expect(serverRead).to.be.below(2 << 20);
    expect(sent).to.be.below(64 << 20);
    // The answer went out first (whether the client still reads it once the connection is reset is up to its TCP stack).
    expect(answer('431 Request Header Fields Too Large', { error: 'Request Header Fields Too Large' }).startsWith(response)).to.equal(true);
  });
}));
