import Type from 'typebox';
import { defineTool } from '../define.js';

/** `echo { message }` → one text content equal to `message`. */
export const echoTool = defineTool({
  name: 'echo',
  title: 'Echo',
  description: 'Returns the message unchanged. Useful to check a connection end to end.',
  inputSchema: Type.Object({ message: Type.String({ description: 'Text to send back' }) }),
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  handler: ({ message }) => ({ content: [{ type: 'text', text: message }] }),
});
