/** The golden dubbo frames captured from dubbo2.js and the test provider; they live beside the codec. */
export * from "../../src/codec/dubbo/_golden_frames.ts";
