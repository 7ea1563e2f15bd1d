// CRI's gRPC client: the generic client of src/grpc on a unix socket, failing with CriError.
import { GrpcClient as BaseGrpcClient, type GrpcClientOptions as BaseOptions } from "../grpc/grpc.ts";
import { CriError } from "./types.ts";

export {
  decodeGrpcMessage,
  formatGrpcTimeout,
  frameMessage,
  GRPC_CANCELLED,
  GRPC_INTERNAL,
  GRPC_UNIMPLEMENTED,
  GRPC_UNKNOWN,
  parseFrames,
} from "../grpc/grpc.ts";

export type GrpcClientOptions = Omit<BaseOptions, "makeError" | "userAgent">;

export class GrpcClient extends BaseGrpcClient {
  constructor(socketPath: string, opts: GrpcClientOptions = {}) {
    super(socketPath, {
      ...opts,
      userAgent: "raven-cri/1",
      makeError: (method, code, message) => new CriError(method, code, message),
    });
  }

  get socketPath(): string {
    return this.target;
  }
}
