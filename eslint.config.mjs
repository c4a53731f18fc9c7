// ESLint (typescript-eslint) for the TypeScript sources; Prettier owns the formatting (eslint-config-prettier).
// The layer rules below keep each layer importing only downward: transport → protocol → actions → domain → adapters.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';
import globals from 'globals';

const layer = (files, forbidden, message) => ({
  files,
  rules: {
    'no-restricted-imports': ['error', { patterns: forbidden.map((group) => ({ group: [group], message })) }],
  },
});
const SQL = ['knex', 'pg'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'src/admin/dashboard/**', 'src/protocol/model/*-shapes.ts', 'fixtures/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    languageOptions: { globals: { ...globals.node, ...globals.mocha } },
    rules: {
      // values from the wire and from SQL rows are dynamic by nature; they are checked where they enter
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-require-imports': 'off',
      'no-constant-condition': ['error', { checkLoops: false }],
      eqeqeq: ['error', 'smart'],
      'prefer-const': 'error',
    },
  },
  layer(
    ['src/adapters/**/*.ts'],
    ['**/domain/*', '**/actions/*', '**/protocol/*', '**/transport/*', '**/admin/*', '**/cli/*', '**/services'],
    'adapters know nothing above them (no EC2, no domain)',
  ),
  layer(
    ['src/domain/**/*.ts'],
    ['**/actions/*', '**/protocol/*', '**/transport/*', '**/admin/*', '**/cli/*', '**/services'],
    'the domain imports only adapters',
  ),
  layer(['src/actions/**/*.ts'], ['**/transport/*', '**/admin/*', '**/cli/*', '**/adapters/*', ...SQL], 'actions reach state only through domain services'),
  layer(
    ['src/protocol/**/*.ts'],
    ['**/actions/*', '**/transport/*', '**/admin/*', '**/cli/*', '**/adapters/*', ...SQL],
    'the protocol layer encodes and decodes; it holds no state',
  ),
  layer(['src/transport/**/*.ts', 'src/admin/**/*.ts', 'src/cli/**/*.ts'], SQL, 'SQL lives in the domain and adapters'),
);
