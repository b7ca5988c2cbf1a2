// The service's clock, as a page knows it: times are said by the service's clock, not this
// device's (they differ, and a drill runs fast). Set from each answer that carries the
// service's time, or asked at /api/now; between two, it runs as fast as the service's (a
// drill's `--clock-speed`, in the page's <meta name="wwm-clock-speed">): at real speed, a
// drill's countdowns ran slow and her browser's fixes were stamped minutes in its past.

const speedMeta = document.querySelector('meta[name="wwm-clock-speed"]');
const SPEED = speedMeta && Number(speedMeta.content) > 0 ? Number(speedMeta.content) : 1;

export class ServiceClock {
  // `now`: the service's time when the page was made; `synced()`: called after each sync.
  constructor(now, synced = () => {}) {
    this.set(now);
    this.synced = synced;
    this.syncing = null;
    this.again = false;
  }

  set(now) {
    this.serviceThen = now;
    this.deviceThen = Date.now();
  }

  now() {
    return this.timeAt(Date.now());
  }

  // The service's time at an instant of this device's (a position taken a moment ago).
  timeAt(deviceMs) {
    return this.serviceThen + (deviceMs - this.deviceThen) * SPEED;
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
