// A small typed client of the e-services API: openapi-fetch over the types that openapi-typescript
// generates from ../../openapi.yaml (src/schema.d.ts, do not edit it; `npm run generate`).
import createClient, { type Client, type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";

export type { components, paths } from "./schema";

/** The contract's schemas, e.g. `Schemas["ApplicationSummary"]`. */
export type Schemas = components["schemas"];
/** Every error body: an RFC 9457 problem (`application/problem+json`) with a stable `code`. */
export type Problem = Schemas["Problem"];
/** The languages the service writes its messages in (`az` is the default). */
export type Language = Schemas["Language"];

export interface EServicesClientOptions {
  /**
   * Where the API is served, without `/api/v1` (the contract's paths carry it), e.g.
   * "https://eservices.example.az", or "" for the page's own origin behind the same proxy.
   */
  baseUrl: string;
  /**
   * The signed-in person's JWT, or undefined when nobody is signed in. Called before every
   * request, so a refreshed token is used as soon as the app has it.
   */
  getToken: () => string | undefined | Promise<string | undefined>;
  /** Sent as `Accept-Language`: the language of the applicant's SMS and e-mails. */
  getLanguage?: () => Language | undefined;
}

/** Adds `Authorization: Bearer <token>` and `Accept-Language` to every request. */
export function authAndLanguage(options: Omit<EServicesClientOptions, "baseUrl">): Middleware {
  return {
    async onRequest({ request }) {
      const token = await options.getToken();
      if (token !== undefined && token !== "") {
        request.headers.set("Authorization", `Bearer ${token}`);
      }
      const language = options.getLanguage?.();
      if (language !== undefined) {
        request.headers.set("Accept-Language", language);
      }
      return request;
    },
  };
}

/** A client whose paths, parameters, bodies and responses are checked against openapi.yaml. */
export function createEServicesClient(options: EServicesClientOptions): Client<paths> {
  const client = createClient<paths>({ baseUrl: options.baseUrl });
  client.use(authAndLanguage(options));
  return client;
}
