// The DLPack v0.8 exchange ABI (https://dmlc.github.io/dlpack/latest/c_api.html), the
// unversioned "dltensor" capsule that __dlpack__ returns by default. Written from the public
// specification: only the structs and enum values pyengine reads or writes.
#pragma once
#include <cstdint>

extern "C" {

#define DLPACK_VERSION 80
#define DLPACK_ABI_VERSION 1

typedef enum {
  kDLCPU = 1,
  kDLCUDA = 2,
  kDLCUDAHost = 3,
  kDLOpenCL = 4,
  kDLVulkan = 7,
  kDLMetal = 8,
  kDLVPI = 9,
  kDLROCM = 10,
  kDLROCMHost = 11,
  kDLExtDev = 12,
  kDLCUDAManaged = 13,
  kDLOneAPI = 14,
  kDLWebGPU = 15,
  kDLHexagon = 16,
} DLDeviceType;

typedef struct {
  DLDeviceType device_type;
  int32_t device_id;
} DLDevice;

typedef enum {
  kDLInt = 0,
  kDLUInt = 1,
  kDLFloat = 2,
  kDLOpaqueHandle = 3,
  kDLBfloat = 4,
  kDLComplex = 5,
  kDLBool = 6,
} DLDataTypeCode;

typedef struct {
  uint8_t code;    // a DLDataTypeCode
  uint8_t bits;    // bits per lane
  uint16_t lanes;  // 1 for scalars
} DLDataType;

typedef struct {
  void* data;            // with byte_offset, the address of the first element
  DLDevice device;
  int32_t ndim;
  DLDataType dtype;
  int64_t* shape;        // ndim sizes
  int64_t* strides;      // ndim strides in ELEMENTS; NULL means compact row-major
  uint64_t byte_offset;
} DLTensor;

// The producer's tensor plus what the consumer calls (exactly once) when done with it.
typedef struct DLManagedTensor {
  DLTensor dl_tensor;
  void* manager_ctx;
  void (*deleter)(struct DLManagedTensor* self);
} DLManagedTensor;

}  // extern "C"
