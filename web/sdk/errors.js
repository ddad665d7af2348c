// The error the SDK throws, rejects with and reports in `error` events.

/**
 * Error thrown by join()/switchDevice()/publish(), rejected by sendMessage()/
 * sendData() and passed to `error` listeners. `code` is the server's numeric
 * code (docs/protocol.md) or a string for client-side failures: 'param',
 * 'state', 'network', 'timeout', 'closed', 'aborted', 'media', 'webrtc', 'protocol', 'redirect'
 * (a cluster sent the join to a bad URL, or round in circles).
 */
export class OpenRoomError extends Error {
  /**
   * @param {number|string} code
   * @param {string} message
   */
  constructor(code, message) {
    super(message);
    this.name = 'OpenRoomError';
    /** @type {number|string} */
    this.code = code;
  }
}

/** @param {unknown} err */
export function errorMessage(err) {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}
