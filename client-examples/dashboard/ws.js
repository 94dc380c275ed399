// The live-update client: GraphQL over one WebSocket speaking the graphql-transport-ws
// protocol (connection_init → connection_ack; subscribe/next/error/complete; ping/pong),
// with a keep-alive ping and reconnection with backoff; subscriptions are sent again after
// every reconnection.
import { PING_MS, PONG_WAIT_MS } from './config.js';

export class LiveSocket {
  constructor(url, token, { onStatus, onConnected, onAuthError }) {
    Object.assign(this, { url, token, onStatus, onConnected, onAuthError });
    this.subscriptions = new Map(); // id → { payload, sink }
    this.nextId = 1;
    this.ws = null;
    this.acked = false;
    this.attempt = 0;
    this.closedByUs = false;
    this.timers = {};
  }

  subscribe(query, variables, sink) {
    const id = String(this.nextId++);
    this.subscriptions.set(id, { payload: { query, variables }, sink });
    if (this.acked) this.send({ id, type: 'subscribe', payload: { query, variables } });
    return id;
  }

  send(message) {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  }

  connect() {
    clearTimeout(this.timers.retry);
    this.closedByUs = false;
    this.acked = false;
    this.onStatus(this.attempt ? 'reconnecting' : 'connecting');
    let ws;
    try {
      ws = new WebSocket(this.url, 'graphql-transport-ws');
    } catch (error) {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${this.token}` } }));
    };
    ws.onmessage = (event) => this.receive(ws, event.data);
    ws.onclose = (event) => this.closed(ws, event);
    ws.onerror = () => {}; // onclose follows with the code
  }

  receive(ws, data) {
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      ws.close(4400, 'invalid message');
      return;
    }
    const sub = message.id ? this.subscriptions.get(message.id) : null;
    switch (message.type) {
      case 'connection_ack':
        this.acked = true;
        this.attempt = 0;
        this.onStatus('live');
        for (const [id, { payload }] of this.subscriptions) this.send({ id, type: 'subscribe', payload });
        this.keepAlive();
        this.onConnected();
        break;
      case 'next':
        if (sub) {
          const { data, errors } = message.payload || {};
          if (errors?.length) sub.sink.error?.(errors);
          if (data) sub.sink.next(data);
        }
        break;
      case 'error': // the operation failed; the socket stays
        if (sub) sub.sink.error?.(message.payload);
        this.subscriptions.delete(message.id);
        break;
      case 'complete':
        // The server ended it (e.g. while shutting down): the dashboard's subscriptions are
        // for good, so it is sent again after the next connection.
        if (sub) sub.sink.complete?.();
        break;
      case 'ping':
        this.send({ type: 'pong' });
        break;
      case 'pong':
        clearTimeout(this.timers.pongWait);
        break;
      default:
        break;
    }
  }

  keepAlive() {
    clearInterval(this.timers.ping);
    this.timers.ping = setInterval(() => {
      this.send({ type: 'ping' });
      clearTimeout(this.timers.pongWait);
      this.timers.pongWait = setTimeout(() => {
        // A dead connection may take minutes to report its close: drop it and start anew.
        const dead = this.ws;
        this.ws = null;
        this.acked = false;
        clearInterval(this.timers.ping);
        dead?.close(4499, 'no pong');
        this.scheduleReconnect();
      }, PONG_WAIT_MS);
    }, PING_MS);
  }

  closed(ws, event) {
    if (ws !== this.ws) return;
    clearInterval(this.timers.ping);
    clearTimeout(this.timers.pongWait);
    this.acked = false;
    if (this.closedByUs) return;
    // 4401/4403: the token was refused; asking again beats retrying for ever.
    if (event.code === 4401 || event.code === 4403) {
      this.onStatus('offline');
      this.onAuthError(event.reason || 'the token was refused');
      return;
    }
    this.scheduleReconnect();
  }

  scheduleReconnect() {
    this.attempt += 1;
    const delay = Math.min(15_000, 500 * 2 ** Math.min(this.attempt, 5)) * (0.75 + Math.random() * 0.5);
    this.onStatus('reconnecting');
    this.timers.retry = setTimeout(() => this.connect(), delay);
  }

  close() {
    this.closedByUs = true;
    for (const t of Object.values(this.timers)) {
      clearTimeout(t);
      clearInterval(t);
    }
    this.ws?.close(1000, 'bye');
  }
}
