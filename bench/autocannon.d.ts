/** The part of autocannon 9's programmatic API the load generator uses (it ships no types). */
declare module 'autocannon' {
  interface RequestData {
    method?: string;
    path?: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
  }

  interface Histogram {
    readonly average: number;
    readonly mean: number;
    readonly max: number;
    readonly p50: number;
    readonly p90: number;
    readonly p99: number;
  }

  interface Options {
    url: string;
    connections?: number;
    duration?: number;
    timeout?: number;
    method?: string;
    headers?: Record<string, string>;
    requests?: Array<RequestData & { setupRequest?: (request: RequestData) => RequestData }>;
  }

  interface Result {
    readonly duration: number;
    readonly latency: Histogram;
    readonly requests: Histogram & { readonly total: number };
    readonly errors: number;
    readonly timeouts: number;
    readonly non2xx: number;
    readonly '2xx': number;
  }

  function autocannon(options: Options): Promise<Result>;
  export = autocannon;
}
