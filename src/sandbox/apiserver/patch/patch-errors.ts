// The two ways a patch fails, as the API server reports them: a body that is not a
// well-formed patch of its type (400), and a well-formed patch that cannot be applied to this
// object (422, which upstream reports as "the server rejected our request ...").
import { ApiError, errBadRequest } from "../errors.ts";

export function malformedPatch(detail: string): ApiError {
  return errBadRequest(detail);
}

export function unappliablePatch(detail: string): ApiError {
  return new ApiError(
    422,
    "Invalid",
    `the server rejected our request due to an error in our request: ${detail}`,
    {
      causes: [{ reason: "UnexpectedServerResponse", message: detail }],
    },
  );
}
