// The one live client of a walk page: a WebSocket that resumes from its cursors, reconnects
// with backoff, and says when it is offline. The map, the timeline and the banner all listen
// to it (walk.js); none of them opens a connection of its own.

const FIRST_RETRY_MS = 1000;
const ASK_WHY_MS = 10000; // how long the walk's address may take to say why a stream was refused
const MAX_RETRY_MS = 30000;
const FOR_GOOD = new Set([1000, 4401, 4403]); // the walk is over, or no longer ours to see
// Why a stream ended for good, by its close code or by the HTTP status of its walk: the page
// stops trying, and says so in words.
const ENDED = { 4401: "signed_out", 401: "signed_out", 4403: "refused", 403: "refused", 404: "refused" };

export class LiveWalk {
  constructor(path, afterEvent, afterFix) {
    this.path = path;
    this.afterEvent = afterEvent;
    this.afterFix = afterFix;
    this.listeners = { walk: [], event: [], fix: [], status: [] };
    this.socket = null;
    this.retryMs = FIRST_RETRY_MS;
    this.timer = null;
    this.finished = false;
  }

  on(type, listener) {
    this.listeners[type].push(listener);
    return this;
  }

  emit(type, value) {
    for (const listener of this.listeners[type]) listener(value);
  }

  start() {
    // The browser knows before the socket does: a phone that lost its network, or slept.
    window.addEventListener("offline", () => this.drop());
    window.addEventListener("online", () => this.connectNow());
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this.connectNow();
    });
    this.connect();
  }

  url() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    // together: fixes that land at once (her phone's queue, a catch-up) in one message.
    const query = `after_event=${this.afterEvent}&after_fix=${this.afterFix}&together=true`;
    return `${scheme}//${location.host}${this.path}?${query}`;
  }

  connect() {
    if (this.finished || this.socket || !navigator.onLine) {
      if (!navigator.onLine) this.emit("status", { state: "offline" });
      return;
    }
    this.emit("status", { state: "connecting" });
    const socket = new WebSocket(this.url());
    this.socket = socket;
    this.attempt = (this.attempt || 0) + 1;
    const attempt = this.attempt;
    let opened = false;
    socket.onopen = () => {
      opened = true;
      this.retryMs = FIRST_RETRY_MS;
      this.emit("status", { state: "live" });
    };
    socket.onmessage = (message) => this.receive(JSON.parse(message.data));
    socket.onclose = async (closed) => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (FOR_GOOD.has(closed.code)) {
        this.finish(ENDED[closed.code] || "closed", closed.reason);
        return;
      }
      // A browser tells a refused stream (signed out, or no longer hers to see) from a lost
      // network by nothing (1006 either way): the walk's own address says which, over HTTP.
      const refused = opened ? null : await this.refusal();
      // Meanwhile it may have connected again (and even lost that connection): then this
      // answer is old news, and the newer attempt decides.
      if (this.socket !== null || this.finished || attempt !== this.attempt) return;
      if (refused !== null) {
        this.finish(refused, "");
        return;
      }
      // Too many pages of this walk open (4429): tried again, not soon, when one may have
      // closed (it was opened, so the wait had gone back to its shortest).
      const tooMany = closed.code === 4429;
      if (tooMany) this.retryMs = MAX_RETRY_MS;
      this.emit("status", { state: tooMany ? "too_many" : "offline" });
      this.retryLater();
    };
  }

  finish(state, reason) {
    this.finished = true;
    clearTimeout(this.timer);
    this.emit("status", { state, reason });
  }

  async refusal() {
    // Only a clear no stops the page: a server error, no network or no answer in time, and
    // it tries the stream again (a companion must not stop hearing of an alarm by mistake).
    try {
      const answer = await fetch(this.path.replace(/\/live$/, ""), {
        cache: "no-store",
        signal: AbortSignal.timeout(ASK_WHY_MS),
      });
      return ENDED[answer.status] || null;
    } catch {
      return null;
    }
  }

  receive(message) {
    if (message.type === "event") {
      this.afterEvent = Math.max(this.afterEvent, message.event.id);
      this.emit("event", message.event);
    } else if (message.type === "fix") {
      this.afterFix = Math.max(this.afterFix, message.fix.id);
      this.emit("fix", message.fix);
    } else if (message.type === "fixes") {
      for (const fix of message.fixes) {
        this.afterFix = Math.max(this.afterFix, fix.id);
        this.emit("fix", fix);
      }
    } else if (message.type === "walk") {
      this.emit("walk", message.walk);
    }
  }

  drop() {
    if (this.finished) return; // stopped for good: nothing to say about the network
    const socket = this.socket;
    this.socket = null;
    if (socket) socket.close();
    this.emit("status", { state: "offline" });
  }

  retryLater() {
    clearTimeout(this.timer);
    // Backoff with jitter, so a server that comes back isn't met by every page at once.
    const wait = this.retryMs * (0.75 + Math.random() / 2);
    this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
    this.timer = setTimeout(() => this.connect(), wait);
  }

  connectNow() {
    clearTimeout(this.timer);
    this.retryMs = FIRST_RETRY_MS;
    this.connect();
  }
}
