/*
 * chat-client.js: a small browser client for the chat-gateway wire protocol v1
 * (see docs/protocol.md). Plain JavaScript, no dependencies, no build step.
 * Load it with <script src="chat-client.js"></script>; it defines window.ChatClient.
 *
 *   const client = new ChatClient({
 *     onEvent(e)    { ... },  // a session event, in seq order, never duplicated:
 *                             //   message | turn.start | turn.delta | turn.end
 *     onSnapshot(s) { ... },  // replace everything you rendered with s.messages
 *     onState(st, detail) {}, // 'connecting' | 'open' | 'reconnecting' | 'closed'
 *     onError(err)  { ... },  // {code, message, ref?, text?} from the server, or code 'closed'
 *     onAck(ack)    { ... },  // {id, seq}: the server stored your message
 *     onPresence(p) { ... },  // {event: 'join'|'leave'|'typing', user, users: [{user, role}]}:
 *                             //   who is in the session (users, after the change) and what changed
 *   });
 *   client.start();
 *   const id = client.send('Hello');   // queued if not connected, resent on reconnect
 *   client.stop();                     // stop the active reply (turn) of the session
 *   client.typing();                   // call on every key stroke: sent at most once a second
 *   client.close();                    // disconnect for good (close code 1000)
 *
 * What it does for you:
 * - connects to ws(s)://<page host>/v1/ws with subprotocol "chat.v1" (or options.url),
 *   sends `hello`, then joins one session whose id is kept in localStorage so that a reload
 *   or a second tab of the same browser continues the same chat;
 * - tracks the last seq it applied: events with seq <= last are duplicates and are dropped;
 *   an event that does not start at last+1 (its `from_seq` for merged deltas, else `seq`) is a
 *   gap: it is not applied and the client re-joins with after_seq=last to get exactly the rest;
 *   a `snapshot` replaces the transcript and sets last = snapshot.seq;
 * - reconnects after a lost connection with exponential backoff and jitter (250 ms doubling
 *   up to 10 s; back to 250 ms after a connection that stayed healthy for 5 s), then sends
 *   hello + join with after_seq=last, so nothing is lost or repeated;
 * - keeps messages until the server acks them and resends them after a reconnect with the
 *   SAME id: the server dedups by id, so a retry never posts a message twice;
 * - keeps `users`, the session's roster from the latest presence frame (empty while not joined).
 *
 * Close codes: every close is retried (1001 going away, 1006 lost connection, 1011, 1012,
 * 4008 "slow consumer", and also 1000 when the *server* closed), except the ones below: retrying
 * them would fail the same way, so the client goes to 'closed' and reports onError({code:'closed'}).
 * A close by the client itself (close(), code 1000) is never retried.
 */
(function (global) {
  'use strict';

  var FATAL_CLOSE_CODES = {
    1002: 'protocol error',
    1003: 'unsupported data',
    1007: 'invalid UTF-8',
    1008: 'policy violation',
    1009: 'message too big',
    4001: 'hello missing, invalid or rejected',
    4003: 'forbidden',
  };
  // Error codes by which the server refuses a message: it was NOT stored, so it must not be resent.
  var REFUSED = ['busy', 'overloaded', 'rate_limited', 'too_large', 'bad_request'];

  function noop() {}

  // crypto.randomUUID exists only in secure contexts (https, localhost); fall back to getRandomValues.
  function uuid() {
    if (global.crypto && typeof global.crypto.randomUUID === 'function') return global.crypto.randomUUID();
    var b = global.crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; // version 4
    b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join('');
    return h.slice(0, 8) + '-' + h.slice(8, 12) + '-' + h.slice(12, 16) + '-' + h.slice(16, 20) + '-' + h.slice(20);
  }

  function defaultUrl() {
    var loc = global.location;
    return (loc.protocol === 'https:' ? 'wss://' : 'ws://') + loc.host + '/v1/ws';
  }

  // The session id lives in localStorage: generated once, shared by every tab of this origin.
  function storedSession(key) {
    try {
      var id = global.localStorage.getItem(key);
      if (!id) { id = uuid(); global.localStorage.setItem(key, id); }
      return id;
    } catch (e) {
      return uuid(); // storage blocked: the session lasts as long as the page
    }
  }

  function ChatClient(options) {
    var o = options || {};
    this.url = o.url || defaultUrl();
    this.token = o.token;                       // optional auth token, sent in hello
    this.session = o.session || storedSession(o.storageKey || ChatClient.STORAGE_KEY);
    this.minDelayMs = o.minDelayMs || 250;
    this.maxDelayMs = o.maxDelayMs || 10000;
    this.healthyMs = o.healthyMs || 5000;
    this.typingIntervalMs = o.typingIntervalMs || 1200; // the server fans out one per second at most
    this.on = {};
    ['onEvent', 'onSnapshot', 'onState', 'onError', 'onAck', 'onWelcome', 'onPresence'].forEach(function (name) {
      this.on[name] = o[name] || noop;
    }, this);

    this.state = 'closed';
    this.lastSeq = 0;          // seq of the last session event applied (per this client's session)
    this.welcome = null;       // the server's welcome frame {connection_id, node, user, ...}
    this.pending = new Map();  // id -> {id, text, sent}: messages not acked yet, in send order
    this.users = [];           // [{user, role}]: who is in the session, from the latest presence frame
    this._lastTyping = 0;
    this._ws = null;
    this._joined = false;      // a `joined` arrived for our current join on this connection
    this._synced = false;      // we applied a join before, so lastSeq describes what we hold
    this._attempt = 0;         // consecutive failed connections (backoff exponent)
    this._timer = null;
    this._stopped = true;
    this._joinedAt = 0;
    var self = this;
    // Coming back online: do not wait for the rest of the backoff delay.
    global.addEventListener && global.addEventListener('online', function () {
      if (!self._stopped && !self._ws) self._connect();
    });
  }

  ChatClient.STORAGE_KEY = 'chat-gateway.session';
  ChatClient.uuid = uuid;
  // Forget the stored session id: the next client starts a new, empty chat.
  ChatClient.resetSession = function (key) {
    try { global.localStorage.removeItem(key || ChatClient.STORAGE_KEY); } catch (e) { /* ignore */ }
  };

  ChatClient.prototype.start = function () {
    if (!this._stopped) return;
    this._stopped = false;
    this._connect();
  };

  // Send a chat message. Returns its client-generated id (also the `ref` of a refusing error).
  ChatClient.prototype.send = function (text) {
    var id = uuid();
    this.pending.set(id, { id: id, text: String(text), sent: false });
    if (this._joined) this._sendMessage(id);
    return id;
  };

  // Stop the session's active turn (the reply being generated). Returns false when offline.
  ChatClient.prototype.stop = function () {
    return this._joined && this._send({ type: 'stop', session: this.session });
  };

  // The user is typing: tell the others, at most once per typingIntervalMs. Returns whether it was sent.
  ChatClient.prototype.typing = function () {
    var now = Date.now();
    if (!this._joined || now - this._lastTyping < this.typingIntervalMs) return false;
    this._lastTyping = now;
    return this._send({ type: 'typing', session: this.session });
  };

  // Disconnect for good (no reconnect). start() connects again and resumes after lastSeq.
  ChatClient.prototype.close = function () {
    this._stopped = true;
    clearTimeout(this._timer);
    var ws = this._ws;
    this._ws = null;
    this._joined = false;
    this.users = [];
    if (ws) ws.close(1000, 'client closed');
    this._setState('closed');
  };

  ChatClient.prototype._setState = function (state, detail) {
    if (state === this.state && !detail) return;
    this.state = state;
    this.on.onState(state, detail || {});
  };

  ChatClient.prototype._send = function (frame) {
    if (!this._ws || this._ws.readyState !== 1) return false;
    this._ws.send(JSON.stringify(frame));
    return true;
  };

  ChatClient.prototype._sendMessage = function (id) {
    var m = this.pending.get(id);
    m.sent = this._send({ type: 'message', session: this.session, id: id, text: m.text });
  };

  ChatClient.prototype._connect = function () {
    clearTimeout(this._timer);
    this._setState(this._synced ? 'reconnecting' : 'connecting');
    var ws;
    try {
      ws = new WebSocket(this.url, 'chat.v1');
    } catch (e) { // malformed URL: retrying cannot help
      this._stopped = true;
      this._setState('closed');
      this.on.onError({ code: 'closed', message: 'cannot connect to ' + this.url + ': ' + e.message });
      return;
    }
    var self = this;
    this._ws = ws;
    this._joined = false;
    this._joinedAt = 0;
    ws.onopen = function () {
      var hello = { type: 'hello', client: 'chat-client.js/1' };
      if (self.token) hello.token = self.token;
      self._send(hello);
      self._watchJoin();
    };
    ws.onmessage = function (m) { if (ws === self._ws) self._onFrame(m.data); };
    ws.onerror = noop; // a close event always follows; it is handled there
    ws.onclose = function (e) { if (ws === self._ws) self._onClose(e); };
  };

  ChatClient.prototype._onClose = function (e) {
    this._ws = null;
    this._joined = false;
    this.users = []; // presence is not resumed: the next join brings the roster afresh
    this.pending.forEach(function (m) { m.sent = false; });
    clearTimeout(this._joinTimer);
    if (this._stopped) return this._setState('closed');
    if (FATAL_CLOSE_CODES[e.code]) {
      this._stopped = true;
      this._setState('closed', { code: e.code, reason: e.reason });
      this.on.onError({ code: 'closed', closeCode: e.code,
        message: 'Disconnected (' + e.code + ' ' + (e.reason || FATAL_CLOSE_CODES[e.code]) + ')' });
      return;
    }
    if (this._joinedAt && Date.now() - this._joinedAt >= this.healthyMs) this._attempt = 0;
    var cap = Math.min(this.maxDelayMs, this.minDelayMs * Math.pow(2, this._attempt++));
    var delay = Math.round(cap / 2 + Math.random() * cap / 2); // "equal jitter"
    this._setState('reconnecting', { code: e.code, reason: e.reason, retryInMs: delay });
    this._timer = setTimeout(this._connect.bind(this), delay);
  };

  // (Re)join the session. After the first join, ask for exactly what follows lastSeq.
  ChatClient.prototype._join = function () {
    var join = { type: 'join', session: this.session };
    if (this._synced) join.after_seq = this.lastSeq;
    this._joined = false; // events arriving before `joined` belong to the old cursor: ignore them
    this._send(join);
    this._watchJoin();
  };

  // If the server does not get us to `joined` within 10 s, start over on a fresh connection.
  ChatClient.prototype._watchJoin = function () {
    var self = this, ws = this._ws;
    clearTimeout(this._joinTimer);
    this._joinTimer = setTimeout(function () {
      if (ws === self._ws && !self._joined) ws.close(4000, 'no joined in time');
    }, 10000);
  };

  ChatClient.prototype._onFrame = function (data) {
    var f;
    try { f = JSON.parse(data); } catch (e) { return; } // not ours: ignore
    if (!f || typeof f !== 'object') return;
    switch (f.type) {
      case 'welcome':
        this.welcome = f;
        this.on.onWelcome(f);
        this._join();
        break;
      case 'joined':
        if (f.session !== this.session) return;
        clearTimeout(this._joinTimer);
        this._joined = true;
        this._synced = true;
        this._joinedAt = Date.now();
        this._setState('open');
        // Resend what was not acked yet, with the same ids (the server dedups them).
        this.pending.forEach(function (m) { if (!m.sent) this._sendMessage(m.id); }, this);
        break;
      case 'snapshot':
        if (f.session !== this.session || !this._joined) return;
        this.lastSeq = f.seq;
        this.on.onSnapshot(f);
        break;
      case 'ack':
        this.pending.delete(f.id);
        this.on.onAck(f);
        break;
      case 'presence': // not a session event: no seq, never replayed
        if (f.session !== this.session || !this._joined) return;
        this.users = f.users;
        this.on.onPresence(f);
        break;
      case 'error':
        this._onError(f);
        break;
      default: // a session event: it carries a seq
        if (typeof f.seq === 'number' && f.session === this.session) this._onEvent(f);
    }
  };

  ChatClient.prototype._onEvent = function (e) {
    if (!this._joined) return;
    if (e.seq <= this.lastSeq) return; // duplicate: already applied
    var first = typeof e.from_seq === 'number' ? e.from_seq : e.seq;
    if (first !== this.lastSeq + 1) return this._join(); // gap (or overlap): fetch after lastSeq
    this.lastSeq = e.seq;
    if (e.type === 'message') this.pending.delete(e.id); // stored, even if its ack was lost
    this.on.onEvent(e);
  };

  ChatClient.prototype._onError = function (f) {
    if (f.code === 'not_joined') {
      // The server lost our join (e.g. the session expired): join again; `joined` resends.
      this.pending.forEach(function (m) { m.sent = false; });
      this._join();
    } else if (REFUSED.indexOf(f.code) >= 0) {
      // The message was refused, not stored: forget it so that it is not resent.
      var id = f.ref;
      if (!this.pending.has(id) && f.code !== 'bad_request') {
        // No ref: frames are answered in order, so it is the oldest message sent and not answered.
        id = undefined;
        this.pending.forEach(function (m) { if (id === undefined && m.sent) id = m.id; });
      }
      var m = this.pending.get(id);
      if (m) {
        this.pending.delete(id);
        f = Object.assign({}, f, { ref: id, text: m.text });
      }
    }
    this.on.onError(f);
  };

  global.ChatClient = ChatClient;
})(typeof window !== 'undefined' ? window : this);
