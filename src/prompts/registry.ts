// The one prompt registry: `prompts/list`, `prompts/get` (required arguments checked), and the values
// `completion/complete` offers for a prompt argument.
import type { GetPromptResult, Prompt, PromptArgument } from '@modelcontextprotocol/sdk/types.js';
import { RpcCode, RpcError } from '../errors.js';
import type { Dispatcher } from '../protocol/dispatcher.js';
import type { Session } from '../sessions/session.js';

export interface PromptArgumentDefinition extends PromptArgument {
  /** Values to suggest for what the user typed so far. */
  complete?(value: string): string[];
}

export interface PromptDefinition extends Omit<Prompt, 'arguments'> {
  arguments?: PromptArgumentDefinition[];
  get(args: Record<string, string>, session: Session): Promise<GetPromptResult> | GetPromptResult;
}

export class PromptRegistry {
  private readonly prompts = new Map<string, PromptDefinition>();
  private dispatcher: Dispatcher | undefined;

  install(dispatcher: Dispatcher): void {
    this.dispatcher = dispatcher;
    dispatcher.setRequestHandler('prompts/list', () => ({ prompts: [...this.prompts.values()].map(listEntry) }));
    dispatcher.setRequestHandler('prompts/get', ({ session, params }) => this.get(params, session));
    if (this.prompts.size > 0) this.announce();
  }

  add(definition: PromptDefinition): this {
    if (this.prompts.has(definition.name)) throw new TypeError(`Prompt ${definition.name} is already registered`);
    this.prompts.set(definition.name, definition);
    this.announce();
    return this;
  }

  get size(): number {
    return this.prompts.size;
  }

  prompt(name: string): PromptDefinition | undefined {
    return this.prompts.get(name);
  }

  private async get(params: Record<string, unknown>, session: Session): Promise<GetPromptResult> {
    const name = params.name;
    if (typeof name !== 'string') throw new RpcError(RpcCode.INVALID_PARAMS, 'Invalid params: "name" must be a string');
    const prompt = this.prompts.get(name);
    if (prompt === undefined) throw new RpcError(RpcCode.INVALID_PARAMS, `Unknown prompt: ${name}`);
    const raw = params.arguments ?? {};
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new RpcError(RpcCode.INVALID_PARAMS, 'Invalid params: "arguments" must be an object');
    const args: Record<string, string> = {};
    for (const [k, v] of Object.entries(raw)) {
      if (typeof v !== 'string') throw new RpcError(RpcCode.INVALID_PARAMS, `Invalid params: argument "${k}" must be a string`);
      args[k] = v;
    }
    const missing = (prompt.arguments ?? []).filter((a) => a.required && args[a.name] === undefined).map((a) => a.name);
    if (missing.length > 0) throw new RpcError(RpcCode.INVALID_PARAMS, `Missing required arguments for prompt ${name}: ${missing.join(', ')}`);
    return prompt.get(args, session);
  }

  private announce(): void {
    this.dispatcher?.addCapabilities({ prompts: { listChanged: false } });
  }
}

function listEntry(p: PromptDefinition): Prompt {
  const { get: _get, arguments: args, ...rest } = p;
  return args === undefined ? rest : { ...rest, arguments: args.map(({ complete: _c, ...a }) => a) };
}
