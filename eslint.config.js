import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    // The AssemblyScript kernels are compiled by asc, not tsc; kernels-wasm.ts is their generated base64, kernels-abi.ts their generated interface.
    ignores: [
      'dist/',
      'node_modules/',
      '.gpu/',
      'src/backend/wasm/assembly/',
      'src/backend/wasm/kernels-wasm.ts',
      'src/backend/wasm/kernels-abi.ts',
    ],
  },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
);
