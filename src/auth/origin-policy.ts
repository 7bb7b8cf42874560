// Origin and Host checks for MCP routes (MCP transports spec: servers MUST validate Origin; DNS-rebinding
// protection). A page on evil.example can make a browser send requests to 127.0.0.1, and a rebinding
// DNS name can make it send them with Host: evil.example; both are refused before any upgrade or body.
import { isLoopbackHost } from '../config.js';
import { parseList } from './lists.js';

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]']);

export interface OriginPolicyOptions {
  /** The address the server is bound to (or a function giving it once known: a plugin learns it at listen). */
  bindHost: string | (() => string);
  allowedOrigins: string;
  allowedHosts: string;
  /** RESOURCE_URL, whose origin and host are always allowed (it is this server). */
  resourceUrl: string;
}

export class OriginPolicy {
  private readonly bindHost: string | (() => string);
  private loopbackCache: boolean | undefined;
  private readonly anyOrigin: boolean;
  private readonly origins: Set<string>;
  private readonly hosts: Set<string>;
  /** Whether ALLOWED_ORIGINS / ALLOWED_HOSTS were set (otherwise the loopback defaults apply). */
  private readonly explicitOrigins: boolean;
  private readonly explicitHosts: boolean;

  constructor(o: OriginPolicyOptions) {
    this.bindHost = o.bindHost;
    const origins = parseList(o.allowedOrigins);
    this.anyOrigin = origins.includes('*');
    this.origins = new Set(origins.filter((x) => x !== '*').map((x) => normalizeOrigin(x) ?? x.toLowerCase()));
    this.hosts = new Set(parseList(o.allowedHosts).map((h) => h.toLowerCase()));
    this.explicitOrigins = this.origins.size > 0;
    this.explicitHosts = this.hosts.size > 0;
    if (o.resourceUrl !== '') {
      const url = new URL(o.resourceUrl);
      this.origins.add(url.origin);
      this.hosts.add(url.host);
    }
  }

  /** Whether the server listens on loopback only (the defaults depend on it). */
  private get loopback(): boolean {
    if (this.loopbackCache !== undefined) return this.loopbackCache;
    const host = typeof this.bindHost === 'string' ? this.bindHost : this.bindHost();
    const loopback = isLoopbackHost(host);
    if (host !== '') this.loopbackCache = loopback;
    return loopback;
  }

  /** A request without Origin (curl, SDKs outside browsers) passes; `null` and unlisted origins do not. */
  originAllowed(origin: string | undefined): boolean {
    if (origin === undefined) return true;
    if (this.anyOrigin) return true;
    const normalized = normalizeOrigin(origin);
    if (normalized === undefined) return false;
    if (this.origins.has(normalized)) return true;
    return !this.explicitOrigins && this.loopback && LOOPBACK_NAMES.has(new URL(normalized).hostname);
  }

  /** Verdicts per Host header seen (a server answers to a handful of names; bounded anyway). */
  private readonly hostVerdicts = new Map<string, boolean>();

  /** Host header check; with no list, loopback names only when bound to loopback, else any host. */
  hostAllowed(host: string | undefined): boolean {
    if (host === undefined) return false;
    let verdict = this.hostVerdicts.get(host);
    if (verdict === undefined) {
      verdict = this.checkHost(host);
      if (this.hostVerdicts.size >= MAX_REMEMBERED_HOSTS) this.hostVerdicts.clear();
      this.hostVerdicts.set(host, verdict);
    }
    return verdict;
  }

  private checkHost(host: string): boolean {
    if (host === '' || /[\s/\\@?#]/.test(host)) return false; // userinfo, paths, junk
    let url: URL;
    try {
      url = new URL(`http://${host}`);
    } catch {
      return false;
    }
    const h = host.toLowerCase();
    if (this.hosts.has(h) || this.hosts.has(url.hostname)) return true;
    if (this.explicitHosts) return false;
    return this.loopback ? LOOPBACK_NAMES.has(url.hostname) : true;
  }
}

/** Host verdicts kept before the cache starts over (parsing a Host with URL costs about a microsecond). */
const MAX_REMEMBERED_HOSTS = 256;

function normalizeOrigin(origin: string): string | undefined {
  if (origin === 'null') return undefined;
  try {
    const url = new URL(origin);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
    return url.origin;
  } catch {
    return undefined;
  }
}
