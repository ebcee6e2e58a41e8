import type * as pulumi from "@pulumi/pulumi";

/**
 * A dynamic resource's arguments: its provider's inputs, each of which may be an Output. One
 * definition (the provider's) serves both sides.
 */
export type InputsOf<T> = { [K in keyof T]: pulumi.Input<T[K]> };
