// The event emitter Room extends: on(), off(), and _emit() for the SDK's modules.

/** @typedef {import('./openroom.js').RoomEventMap} RoomEventMap */

export class Emitter {
  constructor() {
    /** @type {Map<string, Set<Function>>} */
    this._listeners = new Map();
  }

  /**
   * @param {string} event
   * @param {Function} fn
   * @returns {this}
   */
  on(event, fn) {
    if (typeof fn !== 'function') throw new TypeError('listener must be a function');
    let set = this._listeners.get(event);
    if (!set) this._listeners.set(event, (set = new Set()));
    set.add(fn);
    return this;
  }

  /**
   * @param {string} event
   * @param {Function} fn
   * @returns {this}
   */
  off(event, fn) {
    this._listeners.get(event)?.delete(fn);
    return this;
  }

  /**
   * Calls the listeners in the order they were added; one that throws is
   * logged and does not stop the others.
   * @template {keyof RoomEventMap} K
   * @param {K} event
   * @param {RoomEventMap[K]} payload
   */
  _emit(event, payload) {
    const set = this._listeners.get(event);
    if (!set) return;
    for (const fn of [...set]) {
      try {
        fn.call(this, payload);
      } catch (err) {
        console.error(`openroom: "${event}" listener threw:`, err);
      }
    }
  }
}
