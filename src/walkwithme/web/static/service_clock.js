// The service's clock, as a page knows it: times are said by the service's clock, not this
// device's (they differ, and a drill runs fast). Set from each answer that carries the
// service's time, or asked at /api/now.

export class ServiceClock {
  // `now`: the service's time when the page was made; `synced()`: called after each sync.
  constructor(now, synced = () => {}) {
    this.offset = now - Date.now();
    this.synced = synced;
    this.syncing = null;
    this.again = false;
  }

  set(now) {
    this.offset = now - Date.now();
  }

  now() {
    return Date.now() + this.offset;
  }

  // One question at a time, and one more if news came while it was asked: a burst of fixes
  // costs two requests, not one each.
  sync() {
    if (this.syncing) {
      this.again = true;
      return this.syncing;
    }
    this.syncing = this.ask().then(() => {
      this.syncing = null;
      this.synced();
      if (this.again) {
        this.again = false;
        return this.sync();
      }
      return undefined;
    });
    return this.syncing;
  }

  async ask() {
    try {
      const answer = await fetch("/api/now", { cache: "no-store" });
      if (answer.ok) this.set((await answer.json()).now);
    } catch {
      // offline: keep the last offset
    }
  }
}
