// The live show's LiveKit client (static/vendor/livekit-client.bundle.js): the page
// loads it only when the token endpoint answers with a LiveKit grant.
export * from 'livekit-client'
