// The layering rules, checked by `npm run lint:imports` (part of `npm test`):
//   src/      the core: knows no Fastify and nothing of plugins/ or routes/;
//   plugins/  the Fastify edge; only the composition root (plugins/realtime-mcp.ts) registers routes;
//   routes/   declare the plugins they need by name (fastify-plugin `dependencies`) and use their
//             decorators: no values imported from plugins/ (types are fine).
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'core-without-fastify',
      comment: 'src/ is the core and knows no Fastify (README "Architecture")',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '(^|node_modules/)(fastify|@fastify/|fastify-plugin)' },
    },
    {
      name: 'core-without-edge',
      comment: 'src/ imports nothing from the Fastify edge (plugins/, routes/)',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(plugins|routes)/' },
    },
    {
      name: 'routes-use-plugins-by-name',
      comment: 'routes declare the plugins they depend on and use their decorators; no values from plugins/',
      severity: 'error',
      from: { path: '^routes/' },
      to: { path: '^plugins/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'only-the-root-registers-routes',
      comment: 'plugins/realtime-mcp.ts composes the plugin; other plugins do not import routes',
      severity: 'error',
      from: { path: '^plugins/', pathNot: '^plugins/realtime-mcp\\.ts$' },
      to: { path: '^routes/' },
    },
    {
      name: 'no-circular',
      comment: 'no import cycles of values (a cycle of type-only imports costs nothing at run time)',
      severity: 'error',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '(^|/)dist/' },
  },
};
