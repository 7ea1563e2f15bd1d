// Where Raven finds its OpenStack cloud, as every OpenStack tool does (openstacksdk's rules):
// `clouds.yaml` (with `secure.yaml` beside it for secrets) from OS_CLIENT_CONFIG_FILE, else the
// first of ./clouds.yaml, ~/.config/openstack/clouds.yaml and /etc/openstack/clouds.yaml; the
// cloud named by --os-cloud or OS_CLOUD; without one, the OS_* variables alone. loadCloud is
// pure (the caller passes the environment and a file reader); processSources() is this process's.
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";

const AuthSchema = z
  .object({
    auth_url: z.string().optional(),
    username: z.string().optional(),
    user_id: z.string().optional(),
    password: z.string().optional(),
    project_name: z.string().optional(),
    project_id: z.string().optional(),
    user_domain_name: z.string().optional(),
    user_domain_id: z.string().optional(),
    project_domain_name: z.string().optional(),
    project_domain_id: z.string().optional(),
    domain_name: z.string().optional(),
    domain_id: z.string().optional(),
    application_credential_id: z.string().optional(),
    application_credential_name: z.string().optional(),
    application_credential_secret: z.string().optional(),
    /** auth_type none: the one endpoint every service is at (unless overridden per service). */
    endpoint: z.string().optional(),
  })
  .passthrough();

const CloudSchema = z
  .object({
    auth_type: z.string().optional(),
    auth: AuthSchema.optional(),
    region_name: z.string().optional(),
    interface: z.string().optional(),
    network_endpoint_override: z.string().optional(),
    load_balancer_endpoint_override: z.string().optional(),
    cacert: z.string().optional(),
    verify: z.boolean().optional(),
    /** Raven's own: without Keystone there is no token scope, so the project to create in. */
    raven_project_id: z.string().optional(),
  })
  .passthrough();

const CloudsFileSchema = z.object({ clouds: z.record(z.string(), CloudSchema) }).passthrough();

export type CloudAuth = z.infer<typeof AuthSchema>;

/** One cloud, resolved: how to authenticate and where the services are. */
export interface CloudConfig {
  /** The cloud's name in clouds.yaml, or "envvars". */
  name: string;
  /** "password", "v3applicationcredential" or "none" (no Keystone: fixed endpoints). */
  authType: "password" | "v3applicationcredential" | "none";
  auth: CloudAuth;
  regionName?: string;
  /** The catalog interface: public (default), internal or admin. */
  interface: "public" | "internal" | "admin";
  /** Endpoint overrides by service type ("network", "load-balancer"). */
  endpointOverride: Partial<Record<ServiceType, string>>;
  /** Without Keystone: the project Raven creates its objects in (`raven_project_id`). */
  projectId?: string;
  /** A CA bundle file for TLS, and whether to verify at all. */
  cacert?: string;
  verify: boolean;
  /** The file the cloud came from, if any. */
  source?: string;
}

export type ServiceType = "network" | "load-balancer";

export class CloudConfigError extends Error {}

export interface CloudSources {
  env: Record<string, string | undefined>;
  /** The file's text, or undefined when there is none. */
  readFile: (path: string) => string | undefined;
  cwd: string;
  home?: string;
}

/** This process's environment, working directory and files. */
export function processSources(env: Record<string, string | undefined> = process.env): CloudSources {
  return {
    env,
    cwd: process.cwd(),
    readFile: (path) => {
      try {
        return readFileSync(path, "utf8");
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw new CloudConfigError(`${path}: ${(err as Error).message}`);
      }
    },
  };
}

/** The clouds.yaml files looked at, in order. */
export function cloudsSearchPath(src: CloudSources): string[] {
  if (src.env.OS_CLIENT_CONFIG_FILE) return [src.env.OS_CLIENT_CONFIG_FILE];
  return [
    join(src.cwd, "clouds.yaml"),
    join(src.home ?? homedir(), ".config/openstack/clouds.yaml"),
    "/etc/openstack/clouds.yaml",
  ];
}

/** The cloud named `cloud` (else OS_CLOUD; else the OS_* variables). */
export function loadCloud(src: CloudSources, cloud?: string): CloudConfig {
  const name = cloud ?? src.env.OS_CLOUD;
  if (!name) return resolve("envvars", fromEnv(src.env), undefined);
  for (const path of cloudsSearchPath(src)) {
    const text = src.readFile(path);
    if (text === undefined) continue;
    const clouds = parseCloudsFile(path, text);
    if (!clouds[name]) continue;
    // Secrets may sit in secure.yaml beside it, merged over the same cloud.
    const secureText = src.readFile(join(dirname(path), "secure.yaml"));
    const secure = secureText === undefined ? {} : parseCloudsFile("secure.yaml", secureText)[name];
    return resolve(name, merge(clouds[name], secure ?? {}), path);
  }
  throw new CloudConfigError(
    `no cloud named "${name}" in ${cloudsSearchPath(src).join(", ")} (set OS_CLIENT_CONFIG_FILE or --os-cloud)`,
  );
}

function parseCloudsFile(path: string, text: string): Record<string, z.infer<typeof CloudSchema>> {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new CloudConfigError(`${path}: not YAML: ${(err as Error).message}`);
  }
  const parsed = CloudsFileSchema.safeParse(raw);
  if (!parsed.success)
    throw new CloudConfigError(
      `${path}: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
    );
  return parsed.data.clouds;
}

function merge(a: z.infer<typeof CloudSchema>, b: z.infer<typeof CloudSchema>): z.infer<typeof CloudSchema> {
  return { ...a, ...b, auth: { ...a.auth, ...b.auth } };
}

/** A cloud from OS_* variables, as the openstack CLI reads them. */
function fromEnv(env: Record<string, string | undefined>): z.infer<typeof CloudSchema> {
  const auth: Record<string, string> = {};
  const map: Record<string, string> = {
    OS_AUTH_URL: "auth_url",
    OS_USERNAME: "username",
    OS_USER_ID: "user_id",
    OS_PASSWORD: "password",
    OS_PROJECT_NAME: "project_name",
    OS_TENANT_NAME: "project_name",
    OS_PROJECT_ID: "project_id",
    OS_TENANT_ID: "project_id",
    OS_USER_DOMAIN_NAME: "user_domain_name",
    OS_USER_DOMAIN_ID: "user_domain_id",
    OS_PROJECT_DOMAIN_NAME: "project_domain_name",
    OS_PROJECT_DOMAIN_ID: "project_domain_id",
    OS_DOMAIN_NAME: "domain_name",
    OS_APPLICATION_CREDENTIAL_ID: "application_credential_id",
    OS_APPLICATION_CREDENTIAL_NAME: "application_credential_name",
    OS_APPLICATION_CREDENTIAL_SECRET: "application_credential_secret",
    OS_ENDPOINT: "endpoint",
  };
  for (const [k, field] of Object.entries(map)) if (env[k] && !auth[field]) auth[field] = env[k]!;
  return {
    auth_type: env.OS_AUTH_TYPE,
    auth,
    region_name: env.OS_REGION_NAME,
    interface: env.OS_INTERFACE,
    cacert: env.OS_CACERT,
    ...(env.OS_INSECURE ? { verify: !/^(1|true|yes)$/i.test(env.OS_INSECURE) } : {}),
  };
}

function resolve(name: string, c: z.infer<typeof CloudSchema>, source: string | undefined): CloudConfig {
  const auth = c.auth ?? {};
  const where = source ? `cloud "${name}" in ${source}` : "the OS_* variables";
  const declared = (c.auth_type ?? "").replace(/^v3/, "").replace(/^v2/, "");
  const authType =
    declared === "none" || declared === "noauth" || declared === "admin_token"
      ? "none"
      : declared === "applicationcredential" || (!declared && auth.application_credential_id)
        ? "v3applicationcredential"
        : declared === "password" || !declared
          ? "password"
          : undefined;
  if (!authType)
    throw new CloudConfigError(
      `${where}: auth_type ${c.auth_type} is not supported (password, v3applicationcredential or none)`,
    );
  const iface = (c.interface ?? "public").replace(/URL$/, "");
  if (iface !== "public" && iface !== "internal" && iface !== "admin")
    throw new CloudConfigError(`${where}: interface ${c.interface} is not public, internal or admin`);
  const endpointOverride: Partial<Record<ServiceType, string>> = {};
  if (c.network_endpoint_override) endpointOverride.network = c.network_endpoint_override;
  if (c.load_balancer_endpoint_override)
    endpointOverride["load-balancer"] = c.load_balancer_endpoint_override;
  if (authType === "none") {
    if (!auth.endpoint && !endpointOverride.network)
      throw new CloudConfigError(`${where}: auth_type none needs auth.endpoint or network_endpoint_override`);
  } else {
    if (!auth.auth_url) throw new CloudConfigError(`${where}: auth.auth_url is not set`);
    if (authType === "password" && (!(auth.username || auth.user_id) || !auth.password))
      throw new CloudConfigError(`${where}: password auth needs a username (or user_id) and a password`);
    if (
      authType === "v3applicationcredential" &&
      (!(auth.application_credential_id || auth.application_credential_name) ||
        !auth.application_credential_secret)
    )
      throw new CloudConfigError(
        `${where}: application credential auth needs application_credential_id (or _name) and _secret`,
      );
  }
  return {
    name,
    authType,
    auth,
    regionName: c.region_name,
    interface: iface,
    endpointOverride,
    projectId: c.raven_project_id ?? auth.project_id,
    cacert: c.cacert,
    verify: c.verify ?? true,
    source,
  };
}
