// The npm package ws as a peer of beastgo's Stream, driven by bench/interop's node test.
//
//   node peer.cjs NODE_MODULES CASES_JSON client   reads "NAME URL" lines on stdin and plays each
//                                                  case as a client of URL, one at a time
//   node peer.cjs NODE_MODULES CASES_JSON server   serves on 127.0.0.1, the path naming the case
//
// The first line on stdout is {"ws": VERSION} (and "port" for a server); then one JSON report
// per case: {"name", "closeCode", "closeReason", "error"}. The peer's side of each case is the
// one cases_test.go describes: its action for the case, then an echo of every message with its
// type kept, until the connection ends. Each case is bounded by a timer; the process ends when
// stdin closes.
'use strict';

const fs = require('fs');
const path = require('path');
const readline = require('readline');

const [nodeModules, casesFile, mode] = process.argv.slice(2);
const ws = require(path.join(nodeModules, 'ws'));
const version = require(path.join(nodeModules, 'ws', 'package.json')).version;
const cases = new Map(JSON.parse(fs.readFileSync(casesFile, 'utf8')).map((c) => [c.name, c]));

const PING_PAYLOAD = 'ping from the peer';
const PONG_PREFIX = 'pong ';
const BAD_UTF8 = Buffer.from([0x61, 0xc3, 0x28]);
const CASE_TIMEOUT_MS = 30000;
const MAX_PAYLOAD = 4 << 20;

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

// session plays the peer's side of case c on socket, an open connection or one opening, and
// calls done once with the report.
function session(socket, c, done) {
  const rep = { name: c.name, closeCode: 0, closeReason: '' };
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    done(rep);
  };
  const fail = (what) => {
    rep.error = rep.error ? rep.error + '; ' + what : what;
  };
  const timer = setTimeout(() => {
    fail('no end within ' + CASE_TIMEOUT_MS + ' ms');
    socket.terminate();
    finish();
  }, CASE_TIMEOUT_MS);

  socket.on('error', (err) => fail('error: ' + err.message));
  socket.on('close', (code, reason) => {
    rep.closeCode = code;
    rep.closeReason = reason.toString();
    finish();
  });
  socket.on('message', (data, isBinary) => {
    if (c.kind === 'drop') {
      socket.terminate(); // the TCP connection ends with no close frame
      return;
    }
    if (c.kind !== 'fragments-in') {
      socket.send(data, { binary: isBinary });
      return;
    }
    for (let i = 0; i < data.length; i += c.fragment) {
      const last = i + c.fragment >= data.length;
      socket.send(data.subarray(i, i + c.fragment), { binary: isBinary, fin: last });
    }
  });
  socket.on('pong', (data) => {
    if (c.kind === 'ping-in') socket.send(PONG_PREFIX + data.toString());
  });

  const start = () => {
    switch (c.kind) {
      case 'ping-in':
        socket.ping(Buffer.from(PING_PAYLOAD));
        break;
      case 'close-in':
        socket.close(c.code, c.reason || undefined);
        break;
      case 'bad-utf8':
        socket.send(BAD_UTF8, { binary: false });
        break;
    }
  };
  if (socket.readyState === ws.WebSocket.OPEN) start();
  else socket.on('open', start);
}

function caseOf(name) {
  const c = cases.get(name);
  if (!c) throw new Error('unknown case ' + name);
  return c;
}

if (mode === 'server') {
  const server = new ws.WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: MAX_PAYLOAD });
  server.on('listening', () => emit({ ws: version, port: server.address().port }));
  server.on('connection', (socket, req) => {
    const name = decodeURIComponent(req.url.slice(1));
    let c;
    try {
      c = caseOf(name);
    } catch (err) {
      emit({ name, error: err.message });
      socket.terminate();
      return;
    }
    session(socket, c, emit);
  });
  readline.createInterface({ input: process.stdin }).on('close', () => {
    for (const client of server.clients) client.terminate();
    server.close(() => process.exit(0));
  });
} else if (mode === 'client') {
  emit({ ws: version });
  // One case at a time, in the order the lines come.
  let queue = Promise.resolve();
  const lines = readline.createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    const [name, url] = line.trim().split(' ');
    queue = queue.then(
      () =>
        new Promise((resolve) => {
          let c;
          try {
            c = caseOf(name);
          } catch (err) {
            emit({ name, error: err.message });
            resolve();
            return;
          }
          session(new ws.WebSocket(url, { maxPayload: MAX_PAYLOAD }), c, (rep) => {
            emit(rep);
            resolve();
          });
        }),
    );
  });
  lines.on('close', () => queue.then(() => process.exit(0)));
} else {
  console.error('usage: node peer.cjs NODE_MODULES CASES_JSON client|server');
  process.exit(2);
}
