// An independent ActivityPub peer for feedwatch's end-to-end test, built on
// Fedify (@fedify/fedify 2.3.6), not on the Rust crate under test.
//
// It serves one actor `peer` at http://localhost:<port>/users/peer with an
// in-memory KV store and an in-process queue, and exposes a tiny control API:
//   POST /_test/follow?target=<actor url>  -> the peer follows that actor
//   POST /_test/rotate                     -> the peer replaces its key pairs
//                                             (same key ids, new keys), as a
//                                             server rotating its keys does
//   POST /_test/undo?target=<actor url>    -> the peer Undoes its last Follow
//                                             (embedded), signed with its
//                                             current keys
//   GET  /_test/received                   -> JSON list of received activities
// Activities reach `verified` only through Fedify's inbox listeners, which run
// after Fedify has verified the HTTP signature (and Digest) against the
// sender's published key; anything whose signature failed is recorded by
// `onUnverifiedActivity` with `verified: false` and the reason.
//
// Usage: node fedify-peer.mjs [port]   (0 or empty = pick a free port)
// Prints "READY <port>" on stdout when it is listening on 127.0.0.1.
import http from "node:http";
import {
  createFederation,
  generateCryptoKeyPair,
  InProcessMessageQueue,
  MemoryKvStore,
} from "@fedify/fedify";
import { Activity, Endpoints, Follow, Person, Undo } from "@fedify/vocab";

// Node 20 has no global `navigator` (Node 21+ does); Fedify 2.3 reads
// `navigator.userAgent` when signing. This shim is the "runs on Node 20" part.
globalThis.navigator ??= { userAgent: `Node.js/${process.version}` };

const requestedPort = Number(process.argv[2] ?? process.env.PEER_PORT ?? 0);
const received = [];
let keyPairs = null;
let lastFollow = null;

async function newKeyPairs() {
  return [
    await generateCryptoKeyPair("RSASSA-PKCS1-v1_5"),
    await generateCryptoKeyPair("Ed25519"),
  ];
}

const federation = createFederation({
  kv: new MemoryKvStore(),
  queue: new InProcessMessageQueue(),
  // The Rust bot runs on http://localhost:<port>: a loopback address.
  allowPrivateAddress: true,
});

federation
  .setActorDispatcher("/users/{identifier}", async (ctx, identifier) => {
    if (identifier !== "peer") return null;
    const keys = await ctx.getActorKeyPairs(identifier);
    return new Person({
      id: ctx.getActorUri(identifier),
      preferredUsername: identifier,
      name: "Fedify test peer",
      inbox: ctx.getInboxUri(identifier),
      endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
      publicKey: keys[0].cryptographicKey,
      assertionMethods: keys.map((k) => k.multikey),
    });
  })
  .setKeyPairsDispatcher(async (_ctx, identifier) => {
    if (identifier !== "peer") return [];
    if (keyPairs == null) keyPairs = await newKeyPairs();
    return keyPairs;
  });

async function record(activity, verified, reason) {
  let json = null;
  try {
    json = await activity.toJsonLd({ format: "compact" });
  } catch (e) {
    json = { error: String(e) };
  }
  let object = null;
  try {
    const obj = await activity.getObject();
    object = obj == null ? null : await obj.toJsonLd({ format: "compact" });
  } catch {
    object = null;
  }
  received.push({
    type: json?.type ?? activity.constructor.name,
    id: activity.id?.href ?? null,
    actor: activity.actorId?.href ?? null,
    verified,
    reason: reason ?? null,
    json,
    object,
  });
}

federation
  .setInboxListeners("/users/{identifier}/inbox", "/inbox")
  .on(Activity, async (_ctx, activity) => {
    await record(activity, true);
  })
  .onUnverifiedActivity(async (_ctx, activity, reason) => {
    await record(activity, false, reason?.type ?? String(reason));
    // Returning nothing keeps Fedify's default 401.
  });

function toRequest(req, body, port) {
  const host = req.headers.host ?? `localhost:${port}`;
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) {
    if (Array.isArray(v)) v.forEach((x) => headers.append(k, x));
    else if (v != null) headers.set(k, v);
  }
  return new Request(`http://${host}${req.url}`, {
    method: req.method,
    headers,
    body: req.method === "GET" || req.method === "HEAD" ? undefined : body,
  });
}

async function readBody(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return Buffer.concat(chunks);
}

function json(res, status, value) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(value));
}

const server = http.createServer(async (req, res) => {
  const port = server.address().port;
  try {
    const url = new URL(req.url, `http://localhost:${port}`);
    if (url.pathname === "/_test/received") {
      return json(res, 200, received);
    }
    if (url.pathname === "/_test/follow" && req.method === "POST") {
      const target = url.searchParams.get("target");
      const ctx = federation.createContext(new URL(`http://localhost:${port}/`), undefined);
      const bot = await ctx.lookupObject(target);
      if (bot == null) return json(res, 502, { error: `cannot look up ${target}` });
      const followId = new URL(`/follows/${crypto.randomUUID()}`, ctx.getActorUri("peer"));
      lastFollow = new Follow({ id: followId, actor: ctx.getActorUri("peer"), object: bot.id });
      await ctx.sendActivity({ identifier: "peer" }, bot, lastFollow);
      return json(res, 200, { follow: followId.href, bot: bot.id?.href });
    }
    if (url.pathname === "/_test/rotate" && req.method === "POST") {
      keyPairs = await newKeyPairs();
      return json(res, 200, { rotated: true });
    }
    if (url.pathname === "/_test/undo" && req.method === "POST") {
      if (lastFollow == null) return json(res, 409, { error: "no Follow to undo" });
      const target = url.searchParams.get("target");
      const ctx = federation.createContext(new URL(`http://localhost:${port}/`), undefined);
      const bot = await ctx.lookupObject(target);
      if (bot == null) return json(res, 502, { error: `cannot look up ${target}` });
      const undoId = new URL(`/undos/${crypto.randomUUID()}`, ctx.getActorUri("peer"));
      await ctx.sendActivity(
        { identifier: "peer" },
        bot,
        new Undo({ id: undoId, actor: ctx.getActorUri("peer"), object: lastFollow }),
      );
      return json(res, 200, { undo: undoId.href });
    }
    const body = await readBody(req);
    const response = await federation.fetch(toRequest(req, body, port), {
      contextData: undefined,
    });
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.end(Buffer.from(await response.arrayBuffer()));
  } catch (e) {
    json(res, 500, { error: String(e?.stack ?? e) });
  }
});

server.listen(requestedPort, "127.0.0.1", () => {
  console.log(`READY ${server.address().port}`);
});
