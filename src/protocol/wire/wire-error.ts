// The one typed error of the wire layer (format-spec/protocol.md §6): every malformed input from the
// network ends in a WireError with a stable code, never in another exception.

import { AnnalError } from '../../util/errors.js';

export type WireErrorCode =
  | 'BAD_FRAME_LENGTH' // §1: a length prefix ≤ 0 or > FRAME_BYTES_MAX
  | 'FRAMER_FAILED' // §1: input after a framing error (or after a feed was abandoned)
  | 'ASSEMBLY_REFUSED' // §1: the budget of bytes for unfinished frames refused to let one grow
  | 'FRAME_TOO_LARGE' // §1: an outgoing package larger than FRAME_BYTES_MAX
  | 'TRUNCATED' // §2: a package shorter than its header or credentials block
  | 'BAD_FLAGS' // §2: flag bits other than Authenticated and TrustedWrite
  | 'BAD_CREDENTIALS' // §3: a login or password over CREDENTIAL_BYTES_MAX or not UTF-8
  | 'BAD_GUID' // §4: GUID text that is not a UUID, or a byte run that is not 16 bytes
  | 'BAD_PROTOBUF' // §7.10: a payload that is not a well-formed message of the command's type
  | 'PROTOBUF_LIMIT' // §7.10: a payload over PROTOBUF_ELEMENTS_MAX
  | 'UNKNOWN_COMMAND' // §6.1: a command byte that is not in the TcpCommand table
  | 'UNSUPPORTED_COMMAND'; // §6.1: an internal cluster command on the client interface

export class WireError extends AnnalError {
  override readonly code: WireErrorCode;
  override name = 'WireError';
  /** Byte offset in the frame, package or payload where the problem was found, when known. */
  readonly offset: number | undefined;
  constructor(code: WireErrorCode, message: string, options?: { offset?: number; cause?: unknown }) {
    super(options?.offset === undefined ? `${code}: ${message}` : `${code}: ${message} (at offset ${options.offset})`,
      options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.offset = options?.offset;
  }
}
