/**
 * A min-heap of (time, index) pairs in typed arrays: the fleet's one scheduler keeps every
 * device's next due time here instead of a timer per device.
 */
export class TimeHeap {
  private times: Float64Array
  private items: Int32Array
  size = 0

  constructor(capacity = 64) {
    this.times = new Float64Array(capacity)
    this.items = new Int32Array(capacity)
  }

  push(time: number, item: number): void {
    if (this.size === this.times.length) this.grow()
    let i = this.size++
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (this.times[parent] <= time) break
      this.times[i] = this.times[parent]
      this.items[i] = this.items[parent]
      i = parent
    }
    this.times[i] = time
    this.items[i] = item
  }

  /** the earliest time, or Infinity when empty */
  peekTime(): number {
    return this.size === 0 ? Infinity : this.times[0]
  }

  peekItem(): number {
    return this.items[0]
  }

  /** remove the earliest entry and return its item */
  pop(): number {
    const top = this.items[0]
    const lastTime = this.times[--this.size]
    const lastItem = this.items[this.size]
    let i = 0
    for (;;) {
      let child = 2 * i + 1
      if (child >= this.size) break
      if (child + 1 < this.size && this.times[child + 1] < this.times[child]) child++
      if (this.times[child] >= lastTime) break
      this.times[i] = this.times[child]
      this.items[i] = this.items[child]
      i = child
    }
    this.times[i] = lastTime
    this.items[i] = lastItem
    return top
  }

  clear(): void {
    this.size = 0
  }

  private grow(): void {
    const times = new Float64Array(this.times.length * 2)
    const items = new Int32Array(this.items.length * 2)
    times.set(this.times)
    items.set(this.items)
    this.times = times
    this.items = items
  }
}
