/** The one part of jstat (no bundled types) the verdict statistics use: Student-t quantiles. */
declare module "jstat" {
  const jStat: { studentt: { inv(p: number, dof: number): number } };
  export default jStat;
}
