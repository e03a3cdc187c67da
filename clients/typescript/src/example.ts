// How a frontend lists "My applications" (GET /api/v1/me/applications) with the typed client.
// It is type-checked against the contract by `npm run check`: a field renamed or removed in
// openapi.yaml breaks the check here, not in a browser.
import type { Client } from "openapi-fetch";
import { createEServicesClient, type Problem, type Schemas, type paths } from "./client";

type ApplicationSummary = Schemas["ApplicationSummary"];
type Status = Schemas["Status"];
/** The operation's query parameters: `status`, `kind`, `limit` (1 to 100) and `cursor`. */
export type MyApplicationsQuery = NonNullable<
  paths["/api/v1/me/applications"]["get"]["parameters"]["query"]
>;

export type MyApplicationsResult =
  | { ok: true; items: ApplicationSummary[]; total: number; nextCursor: string | undefined }
  | { ok: false; problem: Problem; retryAfterSeconds: number | undefined };

/** One page of the signed-in applicant's applications, newest first. */
export async function loadMyApplications(
  api: Client<paths>,
  query: MyApplicationsQuery = {},
): Promise<MyApplicationsResult> {
  const { data, error, response } = await api.GET("/api/v1/me/applications", {
    params: { query },
  });
  if (error !== undefined || !response.ok) {
    // 400, 401, 403, 429 and 503 are all typed as the contract's Problem; anything else (an empty
    // body, a proxy's HTML page, a status the contract does not list) is turned into one here.
    const problem: Problem = isProblem(error) ? error : unexpected(response);
    const retryAfter = response.headers.get("Retry-After");
    return {
      ok: false,
      problem,
      retryAfterSeconds: retryAfter === null ? undefined : Number(retryAfter),
    };
  }
  return {
    ok: true,
    items: data.items,
    total: data.total,
    nextCursor: data.next_cursor ?? undefined,
  };
}

/**
 * How a frontend colours each status (the words come from the server, `status_label`, in the
 * language of `Accept-Language`): a status added to or removed from the contract fails here.
 */
export const statusTone: Record<Status, "open" | "with-applicant" | "done" | "refused"> = {
  draft: "with-applicant",
  submitted: "open",
  accepted: "open",
  "inspection-scheduled": "open",
  inspected: "open",
  "under-review": "open",
  "returned-for-correction": "with-applicant",
  completed: "done",
  approved: "done",
  rejected: "refused",
  cancelled: "refused",
};

/** One line of the list: reads fields the contract marks required, so none of them may be missing. */
export function applicationLine(item: ApplicationSummary): string {
  const number: string = item.number;
  const createdAt: string = item.created_at;
  const target = item.target ?? "—";
  return `${number} · ${item.status_label} (${statusTone[item.status]}) · ${target} · ${createdAt.slice(0, 10)}`;
}

/** What to tell the person when the list could not be loaded. */
export function problemMessage(problem: Problem, retryAfterSeconds: number | undefined): string {
  switch (problem.code) {
    case "unauthenticated":
      return "Please sign in again.";
    case "too-many-requests":
    case "identity-provider-unavailable":
    case "database-unavailable":
    case "request-timeout":
      return `The service is busy; try again in ${retryAfterSeconds ?? 5} seconds.`;
    default: {
      // Validation problems name the fields at fault.
      const fields = (problem.errors ?? []).map((e) => e.field).join(", ");
      return fields === "" ? problem.detail : `${problem.detail} (${fields})`;
    }
  }
}

// The deliberate type-level assertion: the required fields of an application in "My
// applications" are exactly these. When the contract adds, drops or makes optional one of them,
// `tsc` fails on this line; update the frontend, then this list.
type RequiredKeys<T> = { [K in keyof T]-?: object extends Pick<T, K> ? never : K }[keyof T];
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Expect<T extends true> = T;
export type SummaryRequiredFields = Expect<
  Equal<
    RequiredKeys<ApplicationSummary>,
    "number" | "kind" | "status" | "status_label" | "created_at" | "updated_at"
  >
>;

function isProblem(value: unknown): value is Problem {
  return typeof value === "object" && value !== null && "code" in value && "status" in value;
}

function unexpected(response: Response): Problem {
  return {
    type: "about:blank",
    title: response.statusText || "Unexpected response",
    status: response.status,
    detail: `The server answered ${response.status} without a problem document.`,
    code: "unexpected-response",
  };
}

// Putting it together in a page: the token comes from wherever the app keeps it after sign-in.
export async function renderMyApplications(list: HTMLElement, token: string): Promise<void> {
  const api = createEServicesClient({
    baseUrl: "",
    getToken: () => token,
    getLanguage: () => "az",
  });
  const result = await loadMyApplications(api, { status: "submitted", limit: 20 });
  if (result.ok) {
    list.replaceChildren(
      ...result.items.map((item) => {
        const li = document.createElement("li");
        li.textContent = applicationLine(item);
        return li;
      }),
    );
  } else {
    list.textContent = problemMessage(result.problem, result.retryAfterSeconds);
  }
}

// The README's snippet ("From a TypeScript frontend"), word for word inside this function, so that
// it is type-checked too.
export async function readmeSnippet(
  auth: { token: string },
  showError: (message: string) => void,
  showList: (lines: string[], nextCursor: string | null | undefined) => void,
): Promise<void> {
  const api = createEServicesClient({ baseUrl: "", getToken: () => auth.token, getLanguage: () => "az" });

  const { data, error, response } = await api.GET("/api/v1/me/applications", {
    params: { query: { status: "submitted", limit: 20 } },
  });
  if (error !== undefined || !response.ok) {
    // An RFC 9457 problem: code ("unauthenticated", "too-many-requests", …), detail, errors.
    showError(error?.detail ?? response.statusText);
  } else {
    // data.items: number, kind, status, status_label, target, created_at, … newest first.
    showList(data.items.map((a) => `${a.number}: ${a.status_label}`), data.next_cursor);
  }
}
