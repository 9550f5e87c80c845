// Benchmark PEER for loadtests/bench_peer.py: a socket.io 4 server with the official Redis
// adapter that does what our ws process does for a send (loadtests/bench_realtime.py), and
// nothing else: the same single-statement PostgreSQL write (chat/sending.py _PG_SEND, passed in
// literally by the driver), a confirmation to the sender and one Redis publish per message for
// the room's other members. Not a product server: there is NO authentication (the handshake
// names its user and rooms), no sync, no presence, no receipts, and nothing is logged per message.
//
// Environment:
//   PORT               listen port (127.0.0.1)
//   DATABASE_URL       postgres://...
//   REDIS_URL          redis://127.0.0.1:6379/0
//   PEER_KEY           Redis adapter key (channel prefix), unique per run
//   PEER_SEND_SQL      the send statement with $1..$n placeholders
//   PEER_SEND_PARAMS   comma list naming $1..$n, in order, from: room, sender, temp_id, type,
//                      content, now, messages, changes (the driver derives it from _PG_SEND's
//                      %(name)s placeholders in order of first appearance)
//   PEER_PG_POOL       pool size (4, as CHAT_ASYNC_DB_POOL_SIZE; opened at start like ours)
//   PEER_ROOM_TURN     1 (default): sends into one room take turns in this process before they
//                      take a pooled connection, as chat/sending.py _room_turn does; 0: off
"use strict";

const http = require("node:http");
const { Server } = require("socket.io");
const { createAdapter } = require("@socket.io/redis-adapter");
const { createClient } = require("redis");
const pg = require("pg");

const env = (name, fallback) => {
  const value = process.env[name] ?? fallback;
  if (value === undefined || value === "") throw new Error(`${name} is required`);
  return value;
};
const PORT = Number(env("PORT"));
const SEND_SQL = env("PEER_SEND_SQL");
const PARAM_NAMES = env("PEER_SEND_PARAMS").split(",").map((s) => s.trim());
const POOL_SIZE = Number(env("PEER_PG_POOL", "4"));
const ROOM_TURN = env("PEER_ROOM_TURN", "1") !== "0";
const KNOWN = new Set(["room", "sender", "temp_id", "type", "content", "now", "messages", "changes"]);
for (const name of PARAM_NAMES) if (!KNOWN.has(name)) throw new Error(`unknown send parameter ${name}`);

// bigint columns (id, seq, change_seq) as numbers, as our payloads carry them (all far below 2^53)
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));
const pool = new pg.Pool({ connectionString: env("DATABASE_URL"), max: POOL_SIZE, min: POOL_SIZE,
                           idleTimeoutMillis: 0, application_name: "bench-peer-send",
                           options: "-c TimeZone=UTC" }); // the session in UTC, as ours sets it
const errors = { pool: 0, statement: 0 };
pool.on("error", () => { errors.pool += 1; }); // an idle client lost; the pool replaces it

// A named query is prepared once per connection, like ours (psycopg prepare=True); autocommit.
function sendQuery(values) {
  return { name: "peer_send", text: SEND_SQL, values };
}

// Per-room turns: a promise chain per room, dropped when the room has no send in flight.
const turns = new Map();
function inTurn(room, work) {
  if (!ROOM_TURN) return work();
  const previous = turns.get(room) || Promise.resolve();
  const mine = previous.then(work, work);
  const tail = mine.then(() => undefined, () => undefined);
  turns.set(room, tail);
  tail.then(() => { if (turns.get(room) === tail) turns.delete(room); });
  return mine;
}

async function main() {
  const pub = createClient({ url: env("REDIS_URL", "redis://127.0.0.1:6379/0") });
  const sub = pub.duplicate();
  pub.on("error", () => {});
  sub.on("error", () => {});
  await Promise.all([pub.connect(), sub.connect()]);

  // open the whole pool now (ours opens min_size = max_size = 4 at start)
  const held = await Promise.all(Array.from({ length: POOL_SIZE }, () => pool.connect()));
  held.forEach((client) => client.release());

  const httpServer = http.createServer((req, res) => { res.writeHead(404); res.end(); });
  const io = new Server(httpServer, {
    transports: ["websocket"], // no long-polling: the client opens the websocket directly
    serveClient: false,
    perMessageDeflate: false, // as ours (and the bench client asks for none)
    pingInterval: 20000, // Daphne pings every 20 s (config/launch.py)
    pingTimeout: 30000,
    maxHttpBufferSize: 1 << 20,
    adapter: createAdapter(pub, sub, { key: env("PEER_KEY", "bench-peer") }),
  });

  // Benchmark only: whoever connects is the user it says it is, in the rooms it names. Its
  // username is read from PostgreSQL once per connect (ours reads the socket's user and rooms
  // there too), so that message frames carry the same fields as ours.
  io.use((socket, next) => {
    const { user, rooms } = socket.handshake.auth || {};
    if (!Number.isInteger(user) || !Array.isArray(rooms) || !rooms.every(Number.isInteger)) {
      return next(new Error("auth {user: int, rooms: [int]} required"));
    }
    pool.query({ name: "peer_user", text: "SELECT username FROM auth_user WHERE id = $1", values: [user] })
      .then((result) => {
        if (!result.rows[0]) return next(new Error("no such user"));
        socket.data.user = user;
        socket.data.username = result.rows[0].username;
        next();
      }, () => next(new Error("database unavailable")));
  });

  io.on("connection", (socket) => {
    socket.join(socket.handshake.auth.rooms.map(String));
    const user = socket.data.user;

    socket.on("message_send", (frame) => {
      const room = frame && frame.room;
      const tempId = frame && frame.temp_id;
      if (!Number.isInteger(room) || typeof tempId !== "string" || typeof frame.content !== "string") {
        socket.emit("message_failed", { temp_id: tempId ?? null, error: "invalid frame", code: "invalid" });
        return;
      }
      const byName = { room, sender: user, temp_id: tempId, type: "text", content: frame.content,
                       now: new Date(), messages: 1, changes: 1 };
      const values = PARAM_NAMES.map((name) => byName[name]);
      inTurn(room, () => pool.query(sendQuery(values))).then((result) => {
        const row = result.rows[0];
        if (!row) {
          socket.emit("message_failed", { temp_id: tempId, error: "not a member of the room", code: "forbidden" });
          return;
        }
        // The fields of ours (chat/payloads.py message_payload), so frames are the same size.
        const message = { id: row.id, room, seq: row.seq, user: { id: user, username: socket.data.username },
                          content: frame.content, type: "text", temp_id: tempId,
                          created_at: row.created_at.toISOString(), edited_at: null, deleted: false,
                          reactions: [], version: 1, change_seq: row.change_seq };
        socket.emit("message_confirmed", { temp_id: tempId, message });
        socket.to(String(room)).emit("message_new", { message }); // one PUBLISH through the adapter
      }, (err) => {
        if (err && err.code === "23505") { // UNIQUE(room, sender, temp_id): already stored
          socket.emit("message_failed", { temp_id: tempId, error: "duplicate temp_id", code: "duplicate" });
        } else {
          errors.statement += 1;
          socket.emit("message_failed", { temp_id: tempId, error: "send failed", code: "unavailable" });
        }
      });
    });
  });

  await new Promise((resolve) => httpServer.listen({ port: PORT, host: "127.0.0.1", backlog: 1024 }, resolve));
  console.log(`peer ${process.pid} listening on ${PORT} (pool ${POOL_SIZE}, room turns ${ROOM_TURN})`);

  let closing = false;
  const shutdown = () => {
    if (closing) return;
    closing = true;
    console.log(`peer ${process.pid} stopping; errors ${JSON.stringify(errors)}`);
    setTimeout(() => process.exit(0), 3000).unref();
    io.close(() => {
      Promise.allSettled([pool.end(), pub.quit(), sub.quit()]).then(() => process.exit(0));
    });
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
