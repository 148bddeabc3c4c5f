// Instructions of the authorizationChecker alone: node micro-tmp.js [iterations]
require('./node_modules/reflect-metadata');
const { JwtManager } = require('./dist/src');
const { HS256_CONFIG } = require('./dist/bench/server');
const N = Number(process.argv[2] ?? 20000);
(async () => {
  const jwt = new JwtManager(HS256_CONFIG);
  const token = await jwt.tokens.createAccessToken('bench-user');
  const value = 'Bearer ' + Buffer.from(token).toString();
  const makeAction = () => {
    const req = { headers: { authorization: value, host: 'x' }, rawHeaders: ['Host', 'x', 'Authorization', value] };
    const ctx = { method: 'GET', req, query: {}, request: {}, response: { get() {} }, status: 404, set() {} };
    return { request: ctx.request, response: ctx.response, context: ctx, next: () => {} };
  };
  const noop = (action) => typeof action.request.headers?.authorization === 'string' || true;
  const checker = process.env.NOOP ? noop : jwt.authorizationChecker;
  for (let i = 0; i < N; i++) { const r = checker(makeAction(), []); if (r && r.then) await r; }
  const { execFileSync } = require('child_process');
  const cg = (...a) => execFileSync('callgrind_control', [...a, String(process.pid)], { stdio: 'ignore' });
  if (process.env.CG) cg('-i', 'on');
  const start = process.hrtime.bigint();
  for (let i = 0; i < N; i++) { const r = checker(makeAction(), []); if (r && r.then) await r; }
  const ns = Number(process.hrtime.bigint() - start) / N;
  if (process.env.CG) { cg('-i', 'off'); cg('-d'); }
  console.log(`${ns} ns per check`);
})();
