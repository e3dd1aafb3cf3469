/**
 * When to send a partly filled group (10 sense pairs, 7 gateway readings) early: once nothing
 * was added for three of the usual gaps between additions, and at least `floorMs`. A device that
 * stopped sampling (end of a run) then sends what it has instead of holding it until closed,
 * while a steady 1-per-second sampler still fills its groups.
 */
export class IdleFlush {
  private last = 0
  private gap = 0

  constructor(private readonly floorMs = 1000) {}

  added(nowMs: number): void {
    if (this.last > 0) {
      const gap = nowMs - this.last
      this.gap = this.gap === 0 ? gap : this.gap * 0.8 + gap * 0.2
    }
    this.last = nowMs
  }

  due(nowMs: number): boolean {
    return this.last > 0 && nowMs - this.last >= Math.max(this.floorMs, 3 * this.gap)
  }
}
