// One package the server sends in answer to a request (command + encoded payload); the
// connection adds the correlation id.

export interface Reply {
  readonly command: number;
  readonly payload: Uint8Array;
}
