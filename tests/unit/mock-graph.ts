/**
 * Test-only: Pulumi's mocks with every registration recorded (type, parent,
 * provider, dependencies and the inputs as they reach the provider), for the
 * resource-graph tests. The mocks hide dependencies, so they are read off the
 * registration requests.
 */
import * as pulumi from "@pulumi/pulumi";

export interface Registered {
    type: string;
    name: string;
    inputs: Record<string, any>;
    deps: string[];
    parent: string;
    /** The provider reference ("urn::id"); "" for the default provider. */
    provider: string;
}

const urnName = (urn: string) => urn.split("::").pop()!;

/**
 * Installs the mocks for stack `stack`; `outputs` adds what a provider would
 * return beyond the inputs. Returns the live map of registrations by name.
 */
export async function recordGraph(
    stack: string, outputs: (a: pulumi.runtime.MockResourceArgs) => Record<string, any> = () => ({}),
): Promise<Map<string, Registered>> {
    const registered = new Map<string, Registered>();
    await pulumi.runtime.setMocks({
        newResource: (a) => {
            const r = registered.get(a.name);
            if (r) r.inputs = a.inputs;
            return { id: `${a.name}-id`, state: { ...a.inputs, ...outputs(a) } };
        },
        call: () => ({}),
    }, "redis-sentinel", stack, false);
    const monitor = pulumi.runtime.getMonitor() as any;
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req: any, cb: any) => {
        registered.set(req.getName(), {
            type: req.getType(), name: req.getName(), inputs: {}, parent: urnName(req.getParent()),
            deps: req.getDependenciesList().map(urnName), provider: String(req.getProvider() ?? ""),
        });
        return register(req, cb);
    };
    return registered;
}

/** The registration of `name`, or an error listing what there is. */
export function registration(registered: ReadonlyMap<string, Registered>, name: string): Registered {
    const r = registered.get(name);
    if (!r) throw new Error(`no resource ${name}; have ${[...registered.keys()].join(", ")}`);
    return r;
}

/**
 * Resolves once every resource constructed so far is registered with its
 * inputs: a step that waits for another (the retire steps wait for the
 * verification) registers later than the outputs a test awaits. The SDK counts
 * each registration from its constructor on; its wait is not in its typings.
 */
export async function settled(): Promise<void> {
    const runtime = pulumi.runtime as unknown as { waitForRPCs?: () => Promise<void> };
    if (typeof runtime.waitForRPCs !== "function") throw new Error("@pulumi/pulumi no longer has runtime.waitForRPCs: find another wait");
    await runtime.waitForRPCs();
}

export const isSecret = (v: any): boolean => v?.[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig;
