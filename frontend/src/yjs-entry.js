/**
 * Entry point of static/vendor/yjs.bundle.js (built by scripts/build_yjs.sh).
 *
 * The stall room page keeps a READ-ONLY Y.js replica of a document whose
 * authority is the server (pycrdt, wire-compatible with Yjs). The server
 * speaks the standard y-protocols sync messages, framed like y-websocket:
 *
 *   varUint(0 = messageSync) · varUint(0 step1 | 1 step2 | 2 update) · varUint8Array(payload)
 *
 * This file exposes a single global, `window.BazaarY`:
 *   - Y             the yjs namespace (Y.Doc, Y.applyUpdate, ...)
 *   - syncProtocol  y-protocols/sync
 *   - encoding      lib0/encoding
 *   - decoding      lib0/decoding
 *   - syncStep1(doc)                       -> Uint8Array
 *   - readSyncMessage(doc, bytes, origin)  -> Uint8Array | null
 */
import * as Y from 'yjs'
import * as syncProtocol from 'y-protocols/sync'
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'

/** Outer message type of a sync frame (y-websocket's `messageSync`). */
const MESSAGE_SYNC = 0

/**
 * A complete sync step 1 frame for `doc`: messageSync, then step1 with the
 * doc's state vector. Send it to the server, which answers with step 2.
 *
 * @param {Y.Doc} doc
 * @returns {Uint8Array}
 */
function syncStep1 (doc) {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, MESSAGE_SYNC)
  syncProtocol.writeSyncStep1(encoder, doc)
  return encoding.toUint8Array(encoder)
}

/**
 * Read one frame received from the server and apply it to `doc`.
 *
 * step2 and update frames are applied with `origin` as the transaction origin
 * and return null. A step1 frame from the server returns the step2 reply
 * frame to send back. Any outer message type other than 0 (sync) throws.
 *
 * Unlike y-protocols' default (which logs to the console and carries on),
 * an error while applying the update is rethrown, so that a replica that may
 * have diverged is noticed. This includes errors thrown by the doc's
 * observers, in which case the update itself has already been applied.
 *
 * @param {Y.Doc} doc
 * @param {Uint8Array} bytes
 * @param {any} [origin]
 * @returns {Uint8Array | null}
 */
function readSyncMessage (doc, bytes, origin) {
  const decoder = decoding.createDecoder(bytes)
  const messageType = decoding.readVarUint(decoder)
  if (messageType !== MESSAGE_SYNC) {
    throw new Error('BazaarY.readSyncMessage: not a sync message (type ' + messageType + ')')
  }
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, MESSAGE_SYNC)
  syncProtocol.readSyncMessage(decoder, encoder, doc, origin, (error) => { throw error })
  return encoding.length(encoder) > 1 ? encoding.toUint8Array(encoder) : null
}

window.BazaarY = { Y, syncProtocol, encoding, decoding, syncStep1, readSyncMessage }
