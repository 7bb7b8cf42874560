// `completion/complete`: suggestions for a prompt argument (`ref/prompt`) or a resource template
// variable (`ref/resource`), from the `complete` functions their definitions declare. Unknown
// references and arguments without suggestions give an empty list (the spec allows it).
import type { Dispatcher } from '../protocol/dispatcher.js';
import type { ResourceRegistry } from '../resources/registry.js';
import type { PromptRegistry } from './registry.js';
import { RpcCode, RpcError } from '../errors.js';

/** The spec caps one answer at 100 values. */
const MAX_VALUES = 100;

export function installCompletions(dispatcher: Dispatcher, prompts: PromptRegistry, resources: ResourceRegistry): void {
  dispatcher.addCapabilities({ completions: {} });
  dispatcher.setRequestHandler('completion/complete', ({ params }) => {
    const ref = params.ref as { type?: unknown; name?: unknown; uri?: unknown } | undefined;
    const argument = params.argument as { name?: unknown; value?: unknown } | undefined;
    if (ref === undefined || ref === null || typeof ref !== 'object' || typeof argument?.name !== 'string' || typeof argument.value !== 'string') {
      throw new RpcError(RpcCode.INVALID_PARAMS, 'Invalid params: completion/complete needs "ref" and "argument" { name, value }');
    }
    let values: string[] = [];
    if (ref.type === 'ref/prompt' && typeof ref.name === 'string') {
      values = prompts.prompt(ref.name)?.arguments?.find((a) => a.name === argument.name)?.complete?.(argument.value) ?? [];
    } else if (ref.type === 'ref/resource' && typeof ref.uri === 'string') {
      values = resources.template(ref.uri)?.complete?.(argument.name, argument.value) ?? [];
    }
    return { completion: { values: values.slice(0, MAX_VALUES), total: values.length, hasMore: values.length > MAX_VALUES } };
  });
}
