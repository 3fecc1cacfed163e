// Prints the licence notice of a bundle: the LICENSE file of every npm package that
// esbuild put into it (from its --metafile). Used by scripts/build_yjs.sh and
// scripts/build_livekit.sh:  node bundle-licenses.js META static/vendor/NAME.js
const fs = require('fs')
const [metafile, bundle] = process.argv.slice(2)
const inputs = Object.keys(JSON.parse(fs.readFileSync(metafile, 'utf8')).inputs)
const pkgs = [...new Set(inputs
  .map((p) => p.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//))
  .filter(Boolean).map((m) => m[1]))].sort()
console.log(`${bundle} bundles the following packages, under these licenses.`)
for (const name of pkgs) {
  const dir = `node_modules/${name}`
  const pkg = JSON.parse(fs.readFileSync(`${dir}/package.json`, 'utf8'))
  const file = fs.readdirSync(dir).find((f) => /^(licen[cs]e|copying)(\.|$)/i.test(f))
  if (!file) throw new Error(`no license file in ${dir}`)
  console.log(`\n==== ${name} ${pkg.version} (${pkg.license}) ====\n`)
  console.log(fs.readFileSync(`${dir}/${file}`, 'utf8').trim())
}
